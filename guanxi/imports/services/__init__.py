"""Writes of the imports app: import jobs (upload, mapping, run, undo) and merges of
duplicate customers (merge, unmerge, review decisions)."""

from .jobs import (
    import_job_configure,
    import_job_create,
    import_job_run,
    import_job_start,
    import_job_undo,
    mapping_save,
)
from .merge import customers_merge, customers_unmerge, review_dismiss, review_merge

__all__ = [
    "import_job_configure",
    "import_job_create",
    "import_job_run",
    "import_job_start",
    "import_job_undo",
    "mapping_save",
    "customers_merge",
    "customers_unmerge",
    "review_dismiss",
    "review_merge",
]
