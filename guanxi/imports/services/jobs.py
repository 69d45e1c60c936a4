"""Writes of import jobs: upload and analyse a file, set its mapping and options, start it,
run it (the background task's body), undo it; saved mappings.

An import writes customers, contacts, orders and interactions only through those apps'
services, so the same rules, timeline and audit apply as in the UI and the API.
"""

import hashlib
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi.accounts import access
from guanxi.core.context import channel, current_channel
from guanxi.core.errors import Conflict, Errors, PermissionDenied, ValidationFailed
from guanxi.customers.services.fields import active_definitions

from .. import pipeline
from .. import progress as live
from ..choices import ImportKind, ImportMode, ImportStatus, OnDuplicate, RecordAction
from ..fields import apply_saved, auto_map, fields_for
from ..models import ImportJob, ImportRecord, SavedMapping
from ..readers import UnreadableFile, open_table

ALLOWED_SUFFIXES = {".csv", ".txt", ".tsv", ".xlsx", ".xlsm", ".xls", ".ods"}


def _require(actor) -> None:
    if not access.can(actor, "import.run"):
        raise PermissionDenied(_("Your role may not import data."))


def _definitions(kind: str):
    return active_definitions().values() if kind == ImportKind.CUSTOMERS else ()


def import_job_create(
    *,
    actor,
    kind: str,
    file,
    file_name: str,
    mapping: dict | None = None,
    saved_mapping: str | None = None,
    mode: str = ImportMode.CREATE,
    on_duplicate: str = OnDuplicate.MERGE,
    resumable: bool = False,
    encoding: str = "",
    delimiter: str = "",
    sheet: str = "",
) -> ImportJob:
    """Store an uploaded file and find out what it holds: format, encoding, delimiter, header,
    row count, and a mapping of its columns (given, saved under a name, or guessed)."""
    _require(actor)
    errors = Errors()
    if kind not in ImportKind.values:
        errors.add("kind", _("Choose what the file holds: %(kinds)s.") % {
            "kinds": ", ".join(ImportKind.values)})  # fmt: skip
    suffix = Path(file_name or "").suffix.lower()
    if suffix not in ALLOWED_SUFFIXES:
        errors.add(
            "file",
            _("“%(name)s” is not a CSV or Excel file (.csv, .xlsx, .xls).") % {"name": file_name},
        )
    size = getattr(file, "size", None)
    if size is not None and size > settings.GUANXI_IMPORT_MAX_BYTES:
        errors.add(
            "file",
            _("The file is larger than %(mb)d MB.")
            % {"mb": settings.GUANXI_IMPORT_MAX_BYTES // 1_000_000},
        )
    _check_options(errors, mode=mode, on_duplicate=on_duplicate)
    errors.raise_if_any()
    job = ImportJob(
        kind=kind,
        file_name=Path(file_name).name[:255],
        mode=mode,
        on_duplicate=on_duplicate,
        resumable=bool(resumable),
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
        channel=current_channel(),
    )
    digest = hashlib.sha256()
    for piece in _pieces(file):
        digest.update(piece)
    job.file_sha256 = digest.hexdigest()
    if hasattr(file, "seek"):
        file.seek(0)
    job.file.save(Path(file_name).name, File(file), save=False)
    job.file_size = job.file.size
    try:
        table = open_table(job.file.path, encoding=encoding, delimiter=delimiter, sheet=sheet)
        job.rows_total = table.count_rows()
    except UnreadableFile as e:
        job.file.delete(save=False)
        raise ValidationFailed(errors={"file": [str(e)]}) from e
    job.file_format = table.format
    job.encoding, job.delimiter, job.sheet = table.encoding, table.delimiter, table.sheet
    job.headers = table.headers
    definitions = _definitions(kind)
    if mapping is not None:
        job.mapping = _clean_mapping(mapping, table.headers, kind, definitions)
    elif saved_mapping:
        saved = SavedMapping.objects.filter(kind=kind, name=saved_mapping).first()
        if saved is None:
            job.file.delete(save=False)
            raise ValidationFailed(
                errors={
                    "saved_mapping": [
                        _("No saved mapping is called “%(n)s”.") % {"n": saved_mapping}
                    ]
                }  # fmt: skip
            )
        job.mapping = apply_saved(table.headers, saved.columns, kind, definitions)
    else:
        job.mapping = auto_map(table.headers, kind, definitions)
    job.save()
    return job


def _pieces(file):
    if hasattr(file, "chunks"):
        yield from file.chunks()
        return
    while piece := file.read(1 << 20):
        yield piece


def _check_options(errors: Errors, *, mode, on_duplicate) -> None:
    if mode not in ImportMode.values:
        errors.add("mode", _("Choose one of: %(v)s.") % {"v": ", ".join(ImportMode.values)})
    if on_duplicate not in OnDuplicate.values:
        errors.add(
            "on_duplicate", _("Choose one of: %(v)s.") % {"v": ", ".join(OnDuplicate.values)}
        )


def _clean_mapping(mapping: dict, headers: list[str], kind: str, definitions) -> dict:
    """A mapping given by column position ("0") or header text → field key, checked."""
    specs = {spec.key: spec for spec in fields_for(kind, definitions)}
    errors = Errors()
    clean: dict[str, str] = {}
    used: set[str] = set()
    for column, key in (mapping or {}).items():
        if key in (None, "", "-"):
            continue
        position = _position(column, headers)
        if position is None:
            errors.add(f"mapping.{column}", _("The file has no such column."))
            continue
        if key not in specs:
            errors.add(f"mapping.{column}", _("“%(key)s” is not a field of this import.") % {
                "key": key})  # fmt: skip
            continue
        if key in used and not specs[key].multi:
            errors.add(
                f"mapping.{column}",
                _("Only one column can be imported as “%(field)s”.") % {"field": specs[key].label},
            )
            continue
        used.add(key)
        clean[str(position)] = key
    errors.raise_if_any()
    return clean


def _position(column, headers) -> int | None:
    text = str(column)
    if text.isdigit() and int(text) < len(headers):
        return int(text)
    if text in headers:
        return headers.index(text)
    return None


def import_job_configure(
    *,
    actor,
    job: ImportJob,
    mapping: dict | None = None,
    mode: str | None = None,
    on_duplicate: str | None = None,
    resumable: bool | None = None,
    save_mapping_as: str = "",
) -> ImportJob:
    """Change the mapping and options of a job that has not run yet."""
    _require_job(actor, job)
    if job.status != ImportStatus.ANALYSED:
        raise Conflict(_("This import has already started; its settings can no longer change."))
    errors = Errors()
    _check_options(errors, mode=mode or job.mode, on_duplicate=on_duplicate or job.on_duplicate)
    errors.raise_if_any()
    definitions = _definitions(job.kind)
    if mapping is not None:
        job.mapping = _clean_mapping(mapping, job.headers, job.kind, definitions)
    job.mode = mode or job.mode
    job.on_duplicate = on_duplicate or job.on_duplicate
    if resumable is not None:
        job.resumable = resumable
    job.counts = {}
    job.save()
    if save_mapping_as:
        mapping_save(actor=actor, job=job, name=save_mapping_as)
    return job


def mapping_save(*, actor, job: ImportJob, name: str) -> SavedMapping:
    """Keep the job's mapping under a name (by header text) for the next file like it."""
    _require(actor)
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise ValidationFailed(errors={"save_mapping_as": [_("Give a name of 1–100 characters.")]})
    columns = {job.headers[int(pos)]: key for pos, key in job.mapping.items()}
    saved, _created = SavedMapping.objects.update_or_create(
        kind=job.kind,
        name=name,
        defaults={"columns": columns, "created_by": actor if actor.is_authenticated else None},
    )
    return saved


def _require_job(actor, job: ImportJob) -> None:
    """Admins act on every import; others on their own."""
    _require(actor)
    if not access.is_admin(actor) and job.created_by_id != actor.pk:
        raise PermissionDenied(_("This is someone else's import."))


def _check_ready(job: ImportJob) -> None:
    importer = pipeline.importer_for(job, job.created_by)
    missing = importer.missing_required()
    if missing:
        raise ValidationFailed(
            errors={
                "mapping": [_("Choose a column for: %(fields)s.") % {"fields": ", ".join(missing)}]
            }  # fmt: skip
        )


def import_job_start(*, actor, job: ImportJob, dry_run: bool = False) -> ImportJob:
    """Queue the import (or, with `dry_run`, a check of every row that writes nothing) for
    the background worker, which runs `import_job_run`."""
    _require_job(actor, job)
    if job.status not in (ImportStatus.ANALYSED, ImportStatus.FAILED) and not _interrupted(job):
        raise Conflict(_("This import is already queued, running or finished."))
    _check_ready(job)
    job.status = ImportStatus.QUEUED
    job.dry_run = dry_run
    job.error = ""
    job.save(update_fields=["status", "dry_run", "error", "updated_at"])
    from guanxi.tasks import run_import

    transaction.on_commit(lambda: run_import.enqueue(job.pk))
    return job


def _interrupted(job: ImportJob) -> bool:
    from ..selectors import job_state

    return job_state(job) == "interrupted"


def import_job_run(*, job: ImportJob, dry_run: bool | None = None, on_progress=None) -> ImportJob:
    """Run the import now, in this process (the worker's task, the CLI). The actor is the
    person who uploaded it; their access rules apply to every row. A dry run checks every
    row, writes nothing and leaves the job ready to import."""
    dry_run = job.dry_run if dry_run is None else dry_run
    actor = job.created_by
    if actor is None or not access.can(actor, "import.run"):
        raise PermissionDenied(_("The person who uploaded this file may no longer import."))
    _check_ready(job)
    previous = job.status
    job.status = ImportStatus.RUNNING
    job.dry_run = dry_run
    job.started_at = job.started_at if dry_run else (job.started_at or timezone.now())
    job.heartbeat_at = timezone.now()
    job.error = ""
    job.save(
        update_fields=["status", "dry_run", "started_at", "heartbeat_at", "error", "updated_at"]
    )
    try:
        pipeline.run(job, actor=actor, dry_run=dry_run, on_progress=on_progress)
    except Exception as e:
        live.clear(job.pk)
        job.refresh_from_db()
        job.status = ImportStatus.ANALYSED if dry_run else ImportStatus.FAILED
        job.error = str(e)[:2000] or e.__class__.__name__
        job.finished_at = None if dry_run else timezone.now()
        job.dry_run = False
        job.save(update_fields=["status", "error", "finished_at", "dry_run", "updated_at"])
        raise
    job.refresh_from_db()
    if dry_run:
        job.status = ImportStatus.ANALYSED if previous != ImportStatus.FAILED else previous
        job.dry_run = False
        job.save(update_fields=["status", "dry_run", "updated_at"])
    else:
        # Segments, behaviour tags and stages follow what the file brought in.
        from guanxi.segments.services.changes import segments_refresh_later

        segments_refresh_later(
            changed={"customer", "tags", "address", "orders", "interactions", "time"}
        )
    return job


def import_job_undo(*, actor, job: ImportJob) -> ImportJob:
    """Take a finished import back: delete the customers, contacts, orders and interactions
    it created and restore the customers, contacts and order statuses it changed. Refused,
    with nothing changed, if any customer it created has since gained orders, interactions,
    tasks or contacts from elsewhere, or any contact, order or interaction it created has
    been changed since."""
    from guanxi.customers.services.bulk import customers_bulk_delete, customers_bulk_revert

    _require_job(actor, job)
    if job.status != ImportStatus.COMPLETED:
        raise Conflict(_("Only a completed import can be undone."))
    created = list(
        ImportRecord.objects.filter(
            job=job, model="customers.customer", action=RecordAction.CREATED
        ).values_list("object_id", flat=True)
    )
    changed = {
        pk: before
        for pk, before in ImportRecord.objects.filter(
            job=job, model="customers.customer", action__in=[RecordAction.UPDATED,
                                                             RecordAction.MERGED]
        ).values_list("object_id", "before")
        if before
    }  # fmt: skip
    from ..selectors import customers_touched_since_import

    touched = customers_touched_since_import(job=job, customer_ids=created)
    if touched:
        raise Conflict(
            _(
                "%(n)d customers this import created have since got orders, interactions, "
                "tasks or contacts (for example #%(id)s); undoing would delete those too."
            )
            % {"n": len(touched), "id": min(touched)}
        )
    with channel("import"), transaction.atomic():
        _undo_records(actor, job)
        customers_bulk_revert(actor=actor, changes=changed)
        customers_bulk_delete(actor=actor, ids=created)
        job.status = ImportStatus.UNDONE
        job.undone_at = timezone.now()
        job.undone_by = actor
        job.save(update_fields=["status", "undone_at", "undone_by", "updated_at"])
    return job


def _undo_records(actor, job: ImportJob) -> None:
    """The contacts, orders and interactions part of an undo, a table at a time: what the
    import created is deleted (refused if changed since it finished), what it changed gets
    its old values back where nobody changed them again, and leads its first orders made
    "new" go back to being leads when no order of theirs is left."""
    from guanxi.customers.services.contacts_bulk import contacts_bulk_delete, contacts_bulk_revert
    from guanxi.interactions.services import interactions_bulk_delete
    from guanxi.orders.services import orders_bulk_delete, orders_bulk_update_status

    created: dict[str, list[int]] = {}
    changed: dict[str, dict[int, dict]] = {}
    leads: set[int] = set()
    records = (
        ImportRecord.objects.filter(job=job)
        .exclude(model="customers.customer")
        .order_by("id")
        .values_list("model", "object_id", "action", "before")
    )
    for model, pk, action, before in records:
        if action == RecordAction.CREATED:
            created.setdefault(model, []).append(pk)
            if model == "orders.order" and (before or {}).get("customer_stage"):
                leads.add(before["customer_id"])  # a lead this order made "new"
        elif before:
            # A record changed in several chunks: the oldest old value, the newest new one.
            fields = changed.setdefault(model, {}).setdefault(pk, {})
            for field, (old, new) in before.items():
                fields[field] = [fields.get(field, [old])[0], new]
    since = job.finished_at
    cause = _("import #%(id)s undone") % {"id": job.pk}
    if created.get("interactions.interaction"):
        interactions_bulk_delete(
            actor=actor, ids=created["interactions.interaction"], unchanged_since=since
        )
    orders = created.get("orders.order", [])
    if orders:
        orders_bulk_delete(
            actor=actor, ids=orders, unchanged_since=since, restore_leads=leads, cause=cause
        )
    statuses = changed.get("orders.order", {})
    if statuses:
        orders_bulk_update_status(
            actor=actor,
            updates=[(pk, c["status"][0]) for pk, c in statuses.items()],
            expect={pk: c["status"][1] for pk, c in statuses.items()},
            event_data={"undo": True},
        )
    if changed.get("customers.contact"):
        contacts_bulk_revert(actor=actor, changes=changed["customers.contact"])
    if created.get("customers.contact"):
        contacts_bulk_delete(actor=actor, ids=created["customers.contact"], unchanged_since=since)
