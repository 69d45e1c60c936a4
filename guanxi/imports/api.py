"""Imports over REST: upload a file, look at the mapping and a preview, start it, follow its
progress, read its problems, download the failed rows, undo it."""

import json

from django.http import StreamingHttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import File, Form, Query, Router, Schema, Status, UploadedFile
from pydantic import Field

from guanxi.core.api import ERRORS, READ_ERRORS
from guanxi.core.errors import ValidationFailed
from guanxi.core.pagination import PageParams, paginate

from . import pipeline, selectors, services
from .choices import ImportMode, OnDuplicate
from .models import ImportJob
from .schemas import (
    FieldOut,
    ImportOut,
    ImportPage,
    ImportPatch,
    IssuePage,
    PreviewOut,
    SavedMappingOut,
)

router = Router(tags=["imports"])


class UploadIn(Schema):
    kind: str = Field(description="customers, contacts, orders or interactions")
    mode: str = ImportMode.CREATE
    on_duplicate: str = OnDuplicate.MERGE
    resumable: bool = False
    mapping: str = Field("", description="JSON: column (position or header) → field key")
    saved_mapping: str = Field("", max_length=100)
    encoding: str = Field("", max_length=20)
    delimiter: str = Field("", max_length=4)
    sheet: str = Field("", max_length=100)
    start: bool = Field(False, description="Queue the import right away.")


def job_out(job: ImportJob) -> dict:
    data = {f: getattr(job, f) for f in ImportOut.model_fields if hasattr(job, f)}
    data["progress"] = selectors.job_progress(job)
    data["created_by"] = job.created_by.username if job.created_by else None
    return data


@router.get("/imports/fields", response={200: list[FieldOut], **READ_ERRORS})
def import_fields(request, kind: str = "customers"):
    """What the columns of a file can be imported as, for `mapping`."""
    return selectors.import_fields(actor=request.user, kind=kind)


@router.post("/imports", response={201: ImportOut, **ERRORS})
def create_import(request, file: File[UploadedFile], form: Form[UploadIn]):
    """Upload a CSV or Excel file. The answer says what was found (encoding, delimiter,
    columns, rows) and how the columns are mapped; `start=true` queues it at once."""
    mapping = None
    if form.mapping:
        try:
            mapping = json.loads(form.mapping)
        except ValueError as e:
            raise ValidationFailed(
                errors={"mapping": [_("Not valid JSON: %(e)s") % {"e": e}]}
            ) from e
        if not isinstance(mapping, dict):
            raise ValidationFailed(errors={"mapping": [_("The mapping must be a JSON object.")]})
    job = services.import_job_create(
        actor=request.user,
        kind=form.kind,
        file=file,
        file_name=file.name,
        mapping=mapping,
        saved_mapping=form.saved_mapping,
        mode=form.mode,
        on_duplicate=form.on_duplicate,
        resumable=form.resumable,
        encoding=form.encoding,
        delimiter=form.delimiter,
        sheet=form.sheet,
    )
    if form.start:
        services.import_job_start(actor=request.user, job=job)
    return Status(201, job_out(selectors.job_get(actor=request.user, job_id=job.pk)))


@router.get("/imports", response={200: ImportPage, **READ_ERRORS})
def list_imports(request, page: Query[PageParams]):
    """Your imports (every import, for admins), newest first."""
    result = paginate(selectors.job_list(actor=request.user), page)
    result["items"] = [job_out(job) for job in result["items"]]
    return result


@router.get("/imports/{int:job_id}", response={200: ImportOut, **READ_ERRORS})
def get_import(request, job_id: int):
    """An import with its progress (live while it runs) and its result."""
    return job_out(selectors.job_get(actor=request.user, job_id=job_id))


@router.patch("/imports/{int:job_id}", response={200: ImportOut, **ERRORS})
def update_import(request, job_id: int, payload: ImportPatch):
    """Change the mapping or the options of an import that has not started."""
    job = selectors.job_get(actor=request.user, job_id=job_id)
    services.import_job_configure(actor=request.user, job=job, **payload.dict(exclude_unset=True))
    return job_out(selectors.job_get(actor=request.user, job_id=job_id))


@router.get("/imports/{int:job_id}/preview", response={200: PreviewOut, **ERRORS})
def preview_import(request, job_id: int, rows: int = Query(20, ge=1, le=200)):
    """The first rows as they would be stored, each with its problems and what would happen
    to it (created, merged into customer …, skipped as a duplicate …). Writes nothing."""
    job = selectors.job_get(actor=request.user, job_id=job_id)
    result = pipeline.preview(job, actor=request.user, rows=rows)
    samples = selectors.column_samples(job=job)
    result["columns"] = [
        {"position": i, "header": h, "field": job.mapping.get(str(i)), "sample": samples[i]}
        for i, h in enumerate(job.headers)
    ]
    return result


@router.post("/imports/{int:job_id}/start", response={202: ImportOut, **ERRORS})
def start_import(request, job_id: int):
    """Queue the import; follow it with GET /imports/{id}."""
    job = selectors.job_get(actor=request.user, job_id=job_id)
    services.import_job_start(actor=request.user, job=job)
    return Status(202, job_out(job))


@router.post("/imports/{int:job_id}/check", response={202: ImportOut, **ERRORS})
def check_import(request, job_id: int):
    """Queue a check of every row: the problems and the counts of what the import would do,
    with nothing written. GET /imports/{id}/issues lists what it found."""
    job = selectors.job_get(actor=request.user, job_id=job_id)
    services.import_job_start(actor=request.user, job=job, dry_run=True)
    return Status(202, job_out(job))


@router.post("/imports/{int:job_id}/undo", response={200: ImportOut, **ERRORS})
def undo_import(request, job_id: int):
    """Remove what the import created and restore what it updated."""
    job = selectors.job_get(actor=request.user, job_id=job_id)
    services.import_job_undo(actor=request.user, job=job)
    return job_out(selectors.job_get(actor=request.user, job_id=job_id))


@router.get("/imports/{int:job_id}/issues", response={200: IssuePage, **READ_ERRORS})
def import_issues(
    request, job_id: int, page: Query[PageParams], severity: str | None = Query(None)
):
    """Every problem found, by row: column, value and why."""
    job = selectors.job_get(actor=request.user, job_id=job_id)
    return paginate(selectors.job_issues(job=job, severity=severity), page)


@router.get(
    "/imports/{int:job_id}/failed-rows",
    response={200: None, **READ_ERRORS},
    openapi_extra={"responses": {"200": {"content": {"text/csv": {}}}}},
)
def failed_rows(request, job_id: int):
    """The rows that were not imported, as they were, with a column saying why (CSV)."""
    job = selectors.job_get(actor=request.user, job_id=job_id)
    header, rows = selectors.failed_rows(job=job)
    response = StreamingHttpResponse(
        selectors.csv_text(header, rows), content_type="text/csv; charset=utf-8"
    )
    stamp = timezone.localtime().strftime("%Y%m%d")
    response["Content-Disposition"] = (
        f'attachment; filename="import-{job.pk}-failed-rows-{stamp}.csv"'
    )
    return response


@router.get("/import-mappings", response={200: list[SavedMappingOut], **READ_ERRORS})
def saved_mappings(request, kind: str | None = None):
    """Mappings saved by name (header → field), to use with `saved_mapping`."""
    return list(selectors.saved_mappings(actor=request.user, kind=kind))
