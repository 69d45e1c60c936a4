from django.db import models
from django.utils.translation import gettext_lazy as _


class InteractionKind(models.TextChoices):
    CALL = "call", _("Call")
    EMAIL = "email", _("Email")
    MEETING = "meeting", _("Meeting")
    VISIT = "visit", _("Visit")
    CHAT = "chat", _("Chat")
    SOCIAL = "social", _("Social")
    NOTE = "note", _("Note")


class Direction(models.TextChoices):
    INBOUND = "inbound", _("Inbound")
    OUTBOUND = "outbound", _("Outbound")
    INTERNAL = "internal", _("Internal")


class Channel(models.TextChoices):
    PHONE = "phone", _("Phone")
    EMAIL = "email", _("Email")
    WECHAT = "wechat", _("WeChat")
    SMS = "sms", _("SMS")
    IN_PERSON = "in_person", _("In person")
    VIDEO = "video", _("Video call")
    WEB = "web", _("Website")
    WEIBO = "weibo", _("Weibo")
    OTHER = "other", _("Other")


class TaskStatus(models.TextChoices):
    OPEN = "open", _("Open")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled")


class TaskPriority(models.TextChoices):
    LOW = "low", _("Low")
    NORMAL = "normal", _("Normal")
    HIGH = "high", _("High")


class EventKind(models.TextChoices):
    CREATED = "created", _("Customer created")
    UPDATED = "updated", _("Profile changed")
    STAGE_CHANGED = "stage_changed", _("Stage changed")
    OWNER_CHANGED = "owner_changed", _("Owner changed")
    TAGGED = "tagged", _("Tags changed")
    CONTACT = "contact", _("Contact changed")
    INTERACTION = "interaction", _("Interaction")
    ORDER = "order", _("Order")
    TASK_CREATED = "task_created", _("Task created")
    TASK_DONE = "task_done", _("Task done")
    MERGED = "merged", _("Merged with a duplicate")
    UNMERGED = "unmerged", _("Merge undone")
    CHANNEL = "channel", _("Channel event")
    # data["action"]: requested, approved, rejected or withdrawn (关系终止)
    TERMINATION = "termination", _("Ending the relationship")
    # data["action"]: joined, tier, adjusted, redeemed, reward, expired, expiry_warning,
    # referred, referral_converted (the loyalty program)
    LOYALTY = "loyalty", _("Loyalty program")
