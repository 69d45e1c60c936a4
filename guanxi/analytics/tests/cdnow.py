"""Where the CDNOW data set is: beside the project (../shared/data/cdnow), not in it, or where
GUANXI_CDNOW_DIR says. Under CI a missing data set fails the tests that need it; elsewhere
they are skipped with the reason."""

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


def cdnow_file(name: str) -> Path:
    folder = Path(os.environ.get("GUANXI_CDNOW_DIR") or ROOT.parent / "shared" / "data" / "cdnow")
    path = folder / name
    if not path.exists():
        message = f"the CDNOW data set is not at {path} (set GUANXI_CDNOW_DIR)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path
