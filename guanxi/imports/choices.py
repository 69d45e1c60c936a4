from django.db import models
from django.utils.translation import gettext_lazy as _


class ImportKind(models.TextChoices):
    CUSTOMERS = "customers", _("Customers")
    CONTACTS = "contacts", _("Contacts")
    ORDERS = "orders", _("Orders")
    INTERACTIONS = "interactions", _("Interactions")


class ImportStatus(models.TextChoices):
    ANALYSED = "analysed", _("Ready to import")
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    COMPLETED = "completed", _("Completed")
    FAILED = "failed", _("Failed")
    UNDONE = "undone", _("Undone")


class ImportMode(models.TextChoices):
    CREATE = "create", _("Create new records")
    UPSERT = "upsert", _("Create new and update existing")


class OnDuplicate(models.TextChoices):
    MERGE = "merge", _("Merge into the existing record (fill gaps, add phones, emails, tags)")
    SKIP = "skip", _("Skip the row")
    REVIEW = "review", _("Import it and put the pair in the review queue")


class Severity(models.TextChoices):
    ERROR = "error", _("Error")  # the row is not imported
    WARNING = "warning", _("Warning")  # the row is imported without this value


class RecordAction(models.TextChoices):
    CREATED = "created", _("Created")
    UPDATED = "updated", _("Updated")
    MERGED = "merged", _("Merged")
