"""Live progress of a running import, readable while its transaction is still open.

An all-or-nothing import holds one transaction for its whole run, so nothing it writes to the
database is visible until the end (and SQLite would not let a second connection write
meanwhile). The running job writes its progress to a small file in the data folder instead,
where the uploaded file itself lives, so whatever can read the upload can read the progress.
"""

import contextlib
import json
import os
import time
from pathlib import Path

from django.conf import settings


def _path(job_id: int) -> Path:
    folder = Path(settings.DATA_DIR) / "imports" / "progress"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{job_id}.json"


def write(job_id: int, **data) -> None:
    data["at"] = time.time()
    path = _path(job_id)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data))
    tmp.replace(path)  # atomic: a reader sees the old file or the new one, never half of one


def read(job_id: int) -> dict | None:
    try:
        return json.loads(_path(job_id).read_text())
    except (OSError, ValueError):
        return None


def clear(job_id: int) -> None:
    with contextlib.suppress(OSError):
        _path(job_id).unlink()
