"""Reads of import jobs, their problems and results; the failed rows as a file to fix."""

import csv
import io
import time
from collections.abc import Iterator

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from guanxi.accounts import access
from guanxi.core.errors import NotFound, PermissionDenied, ValidationFailed

from . import progress as live
from .choices import ImportKind, ImportStatus, Severity
from .fields import fields_for
from .models import ImportIssue, ImportJob, SavedMapping
from .pipeline import table_of

INTERRUPTED_AFTER = 300  # seconds without progress before a running import counts as stopped


def job_list(*, actor) -> QuerySet[ImportJob]:
    """Imports the actor may see: all for admins, their own for others who may import."""
    qs = ImportJob.objects.select_related("created_by")
    if access.is_admin(actor):
        return qs
    if not access.can(actor, "import.run"):
        return qs.none()
    return qs.filter(created_by=actor)


def job_get(*, actor, job_id) -> ImportJob:
    try:
        return job_list(actor=actor).get(pk=job_id)
    except (ImportJob.DoesNotExist, ValueError, TypeError) as e:
        raise NotFound(_("Import not found.")) from e


def job_state(job: ImportJob) -> str:
    """The status, with "interrupted" for a run whose process stopped reporting."""
    if job.status != ImportStatus.RUNNING:
        return job.status
    seen = live.read(job.pk)
    last = (seen or {}).get("at") or (job.heartbeat_at.timestamp() if job.heartbeat_at else 0)
    return "interrupted" if time.time() - last > INTERRUPTED_AFTER else job.status


def job_progress(job: ImportJob) -> dict:
    """How far a job is: rows done of all, counts so far (live while it runs)."""
    seen = live.read(job.pk) if job.status == ImportStatus.RUNNING else None
    done = (seen or {}).get("rows_done", job.rows_done)
    total = job.rows_total or 0
    return {
        "state": job_state(job),
        "rows_done": done,
        "rows_total": total,
        "percent": round(100 * done / total) if total else (100 if job.finished_at else 0),
        "counts": (seen or {}).get("counts") or job.counts or {},
    }


def import_fields(*, actor, kind: str) -> list[dict]:
    """What the columns of a file of `kind` can be imported as."""
    from guanxi.customers.selectors import custom_field_definitions

    if not access.can(actor, "import.run"):
        raise PermissionDenied(_("Your role may not import data."))
    if kind not in ImportKind.values:
        raise ValidationFailed(
            errors={"kind": [_("Choose one of: %(v)s.") % {"v": ", ".join(ImportKind.values)}]}
        )
    definitions = custom_field_definitions() if kind == ImportKind.CUSTOMERS else ()
    return [
        {"key": f.key, "label": str(f.label), "required": f.required, "multi": f.multi}
        for f in fields_for(kind, definitions)
    ]


def saved_mappings(*, actor, kind: str | None = None) -> QuerySet[SavedMapping]:
    if not access.can(actor, "import.run"):
        return SavedMapping.objects.none()
    qs = SavedMapping.objects.all()
    return qs.filter(kind=kind) if kind else qs


def column_samples(*, job: ImportJob, n: int = 3) -> list[list[str]]:
    """A few values of each column, for choosing what it is."""
    samples: list[list[str]] = [[] for _h in job.headers]
    for row in table_of(job).sample(50):
        for i, cell in enumerate(row.cells[: len(samples)]):
            if cell.strip() and len(samples[i]) < n and cell not in samples[i]:
                samples[i].append(cell[:80])
    return samples


def job_issues(*, job: ImportJob, severity: str | None = None) -> QuerySet[ImportIssue]:
    qs = ImportIssue.objects.filter(job=job).order_by("row", "id")
    return qs.filter(severity=severity) if severity else qs


def failed_rows(*, job: ImportJob) -> tuple[list[str], Iterator[list[str]]]:
    """The rows that were not imported, as they were in the file, with a last column saying
    why: fix them and import this file again."""
    problems: dict[int, list[str]] = {}
    for row, column, message in job_issues(job=job, severity=Severity.ERROR).values_list(
        "row", "column", "message"
    ):
        problems.setdefault(row, []).append(f"{column}: {message}" if column else message)
    table = table_of(job)
    header = [*table.headers, _("Problems")]

    def rows():
        for row in table.rows():
            if row.number in problems:
                yield [*row.cells[: len(table.headers)], "; ".join(problems[row.number])]

    return header, rows()


def csv_text(header: list[str], rows) -> Iterator[str]:
    """CSV in pieces with a UTF-8 BOM (so Excel shows Chinese), for a streamed download."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow(header)
    for i, row in enumerate(rows, 1):
        writer.writerow(row)
        if i % 1000 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def customers_touched_since_import(*, job: ImportJob, customer_ids: list[int]) -> set[int]:
    """Of the customers an import created, those that have since gained orders, interactions,
    tasks or contacts (which an undo would delete with them)."""
    from guanxi.customers.models import Contact
    from guanxi.interactions.models import Interaction, Task
    from guanxi.orders.models import Order

    touched: set[int] = set()
    for start in range(0, len(customer_ids), 5000):
        part = customer_ids[start : start + 5000]
        for model in (Order, Interaction, Task, Contact):
            touched |= set(
                model.objects.filter(customer_id__in=part).values_list("customer_id", flat=True)
            )
    return touched
