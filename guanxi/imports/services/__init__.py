"""Writes of the imports app: import jobs (upload, mapping, run, undo)."""

from .jobs import (
    import_job_configure,
    import_job_create,
    import_job_run,
    import_job_start,
    import_job_undo,
    mapping_save,
)

__all__ = [
    "import_job_configure",
    "import_job_create",
    "import_job_run",
    "import_job_start",
    "import_job_undo",
    "mapping_save",
]
