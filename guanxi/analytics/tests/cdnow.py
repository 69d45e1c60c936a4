"""Where the CDNOW data set is: GUANXI_CDNOW_DIR, else beside the project
(../shared/data/cdnow), else inside the `lifetimes` package (a test dependency, which ships
the same files). Under CI a missing data set fails the tests that need it; elsewhere they are
skipped with the reason."""

import importlib.util
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


def _folders():
    if os.environ.get("GUANXI_CDNOW_DIR"):
        yield Path(os.environ["GUANXI_CDNOW_DIR"])
    yield ROOT.parent / "shared" / "data" / "cdnow"
    spec = importlib.util.find_spec("lifetimes")  # found, not imported
    if spec is not None and spec.origin:
        yield Path(spec.origin).parent / "datasets"


def cdnow_file(name: str) -> Path:
    tried = []
    for folder in _folders():
        path = folder / name
        if path.exists():
            return path
        tried.append(str(path))
    message = f"the CDNOW data set is not at {' or '.join(tried)} (set GUANXI_CDNOW_DIR)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)
