from django.db import models
from django.utils.translation import gettext_lazy as _


class CustomerKind(models.TextChoices):
    PERSON = "person", _("Person")
    COMPANY = "company", _("Company")


class Stage(models.TextChoices):
    """Lifecycle stages; the code branches on them (terminated suppresses contact)."""

    LEAD = "lead", _("Lead / potential")
    NEW = "new", _("New")
    ACTIVE = "active", _("Active")
    AT_RISK = "at_risk", _("At risk")
    CHURNED = "churned", _("Churned")
    TERMINATED = "terminated", _("Terminated")


class Gender(models.TextChoices):
    UNKNOWN = "", _("Not given")
    FEMALE = "female", _("Female")
    MALE = "male", _("Male")
    OTHER = "other", _("Other")


class Source(models.TextChoices):
    WEB = "web", _("Website")
    STORE = "store", _("Physical store")
    REFERRAL = "referral", _("Referral")
    EXHIBITION = "exhibition", _("Trade show")
    PHONE = "phone", _("Phone enquiry")
    SOCIAL = "social", _("Social media")
    ADVERTISING = "advertising", _("Advertising")
    PARTNER = "partner", _("Partner")
    OTHER = "other", _("Other")


class ContactChannel(models.TextChoices):
    PHONE = "phone", _("Phone")
    EMAIL = "email", _("Email")
    SMS = "sms", _("SMS")
    WECHAT = "wechat", _("WeChat")
    VISIT = "visit", _("Visit")


class CompanySize(models.TextChoices):
    UNKNOWN = "", _("Not given")
    MICRO = "1-9", _("1–9 employees")
    SMALL = "10-49", _("10–49 employees")
    MEDIUM = "50-249", _("50–249 employees")
    LARGE = "250-999", _("250–999 employees")
    ENTERPRISE = "1000+", _("1000+ employees")


class CustomFieldType(models.TextChoices):
    TEXT = "text", _("Text")
    NUMBER = "number", _("Number")
    DATE = "date", _("Date")
    CHOICE = "choice", _("Choice")


class ReviewStatus(models.TextChoices):
    OPEN = "open", _("Open")
    MERGED = "merged", _("Merged")
    DISMISSED = "dismissed", _("Not duplicates")


class ReviewSource(models.TextChoices):
    IMPORT = "import", _("Import")
    SCAN = "scan", _("Database scan")
    EVENT = "event", _("Channel event")


class TerminationStatus(models.TextChoices):
    """Where a request to end a relationship (关系终止) stands; the code branches on it."""

    PENDING = "pending", _("Waiting for a decision")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    WITHDRAWN = "withdrawn", _("Withdrawn")
