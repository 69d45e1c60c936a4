"""Import jobs and what they leave behind: row problems, the records they wrote (for undo),
and saved column mappings."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from guanxi.core.models import TimestampedModel

from .choices import (
    ImportKind,
    ImportMode,
    ImportStatus,
    OnDuplicate,
    RecordAction,
    Severity,
)


class ImportJob(TimestampedModel):
    """One file being imported: where it is, how its columns map, how far it got."""

    kind = models.CharField(_("what"), max_length=20, choices=ImportKind.choices)
    status = models.CharField(
        _("status"),
        max_length=12,
        choices=ImportStatus.choices,
        default=ImportStatus.ANALYSED,
        db_index=True,
    )
    file = models.FileField(_("file"), upload_to="imports/%Y/%m/", max_length=255)
    file_name = models.CharField(_("file name"), max_length=255)
    file_size = models.BigIntegerField(_("size"), default=0)
    file_sha256 = models.CharField(max_length=64, db_index=True)
    file_format = models.CharField(_("format"), max_length=8)
    encoding = models.CharField(_("encoding"), max_length=20, blank=True)
    delimiter = models.CharField(_("delimiter"), max_length=4, blank=True)
    sheet = models.CharField(_("sheet"), max_length=100, blank=True)
    headers = models.JSONField(_("columns"), default=list)
    # Column position (as a string) → field key; unmapped columns are absent.
    mapping = models.JSONField(_("column mapping"), default=dict)
    mode = models.CharField(
        _("mode"), max_length=8, choices=ImportMode.choices, default=ImportMode.CREATE
    )
    on_duplicate = models.CharField(
        _("duplicates"), max_length=8, choices=OnDuplicate.choices, default=OnDuplicate.MERGE
    )
    dry_run = models.BooleanField(
        _("check only"),
        default=False,
        help_text=_("The queued or running pass only checks the rows; it writes nothing."),
    )
    resumable = models.BooleanField(
        _("resumable"),
        default=False,
        help_text=_("Commit in chunks that a re-run continues, instead of all rows or none."),
    )
    rows_total = models.IntegerField(_("rows"), null=True, blank=True)
    rows_done = models.IntegerField(_("rows processed"), default=0)
    # Resumable mode: the data rows up to here are committed (with their records and counts).
    rows_committed = models.IntegerField(default=0)
    counts = models.JSONField(_("result"), default=dict, blank=True)
    error = models.TextField(_("error"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    channel = models.CharField(max_length=16, blank=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    undone_at = models.DateTimeField(_("undone"), null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("undone by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"#{self.pk} {self.file_name}"


class ImportIssue(models.Model):
    """A problem with one value of one row: which row, which column, what it held, why."""

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="issues")
    row = models.IntegerField(_("row"))  # the row number a spreadsheet shows (header is 1)
    column = models.CharField(_("column"), max_length=200, blank=True)
    field = models.CharField(_("field"), max_length=100, blank=True)
    value = models.CharField(_("value"), max_length=500, blank=True)
    message = models.CharField(_("problem"), max_length=500)
    severity = models.CharField(
        _("severity"), max_length=8, choices=Severity.choices, default=Severity.ERROR
    )

    class Meta:
        verbose_name = _("import problem")
        verbose_name_plural = _("import problems")
        ordering = ["row", "id"]
        indexes = [models.Index(fields=["job", "row"], name="import_issue_job_row")]

    def __str__(self):
        return f"{self.row} {self.column}: {self.message}"


class ImportRecord(models.Model):
    """A record an import created, updated or merged into, with what it held before."""

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="records")
    row = models.IntegerField(_("row"))
    model = models.CharField(_("record type"), max_length=64)
    object_id = models.BigIntegerField(_("record id"))
    action = models.CharField(_("action"), max_length=8, choices=RecordAction.choices)
    before = models.JSONField(null=True, blank=True)

    class Meta:
        verbose_name = _("imported record")
        verbose_name_plural = _("imported records")
        ordering = ["row", "id"]
        indexes = [models.Index(fields=["job", "model", "object_id"], name="import_record_obj")]

    def __str__(self):
        return f"{self.job_id}:{self.row} {self.action} {self.model} {self.object_id}"


class SavedMapping(TimestampedModel):
    """A column mapping kept under a name, offered again for files with the same columns."""

    kind = models.CharField(_("what"), max_length=20, choices=ImportKind.choices)
    name = models.CharField(_("name"), max_length=100)
    # Column header (as written in the file) → field key.
    columns = models.JSONField(_("columns"), default=dict)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("saved mapping")
        verbose_name_plural = _("saved mappings")
        ordering = ["kind", "name"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "name"], name="uniq_saved_mapping_name")
        ]

    def __str__(self):
        return self.name


class MatchKey(models.Model):
    """A blocking key of an existing customer (imports.matching.blocking_keys), so that a
    file chunk finds its candidate duplicates among a million customers by index lookups.
    Stored as a 64-bit hash of the key (a collision only adds a candidate, which the matcher
    then scores). Derived data: `match_index.refresh` keeps it in step with the customers."""

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    key = models.BigIntegerField()

    class Meta:
        indexes = [
            models.Index(fields=["key"], name="match_key_key"),
            models.Index(fields=["customer"], name="match_key_customer"),
        ]

    def __str__(self):
        return f"{self.customer_id}: {self.key}"


class MatchRecord(models.Model):
    """What the matcher compares of an indexed customer (its normalised name, pinyin, phones,
    emails, birthday, address …, as JSON), kept beside its keys: a candidate that the keys
    find is read back in one row instead of being worked out again from the customer and
    its phones, emails and address. Derived data, written and refreshed with the keys."""

    customer = models.OneToOneField(
        "customers.Customer", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    data = models.TextField()

    def __str__(self):
        return f"{self.customer_id}: {self.data[:60]}"


class MatchIndexState(models.Model):
    """How far the match keys are up to date: customers changed before `indexed_until` have
    their keys; one row. `people` is how many customers the name-part counts cover."""

    indexed_until = models.DateTimeField(null=True, blank=True)
    people = models.BigIntegerField(default=0)

    def __str__(self):
        return f"match keys up to {self.indexed_until}"


class NamePart(models.Model):
    """How many customers have this name part (a surname or given name, in pinyin for Chinese
    names) first or last: the matcher weighs a shared common name less than a rare one."""

    part = models.CharField(max_length=100, unique=True)
    count = models.BigIntegerField(default=0)

    def __str__(self):
        return f"{self.part}: {self.count}"
