from django.db import models
from django.utils.translation import gettext_lazy as _


class EntryKind(models.TextChoices):
    EARN = "earn", _("Earned")
    REDEEM = "redeem", _("Redeemed")
    EXPIRE = "expire", _("Expired")
    ADJUST = "adjust", _("Adjusted")
    REVERSE = "reverse", _("Reversed")


class Rounding(models.TextChoices):
    DOWN = "down", _("Round down")
    NEAREST = "nearest", _("Round to nearest")
    UP = "up", _("Round up")


class QualifyBy(models.TextChoices):
    SPEND = "spend", _("Spend in the last 12 months")
    POINTS = "points", _("Points earned in the last 12 months")


class VersionStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PUBLISHED = "published", _("Published")


class RewardKind(models.TextChoices):
    GIFT = "gift", _("Gift")
    COUPON = "coupon", _("Coupon")
    DISCOUNT = "discount", _("Discount")


class RedemptionStatus(models.TextChoices):
    ISSUED = "issued", _("Issued")
    USED = "used", _("Used")
    CANCELLED = "cancelled", _("Cancelled")


class BonusEvent(models.TextChoices):
    FIRST_ORDER = "first_order", _("First order")
    BIRTHDAY = "birthday", _("Birthday")
    SIGN_IN = "sign_in", _("Daily sign-in")
    REFERRAL = "referral", _("Referred a customer who bought")
    REFERRED = "referred", _("Was referred and bought")
    SURVEY = "survey", _("Survey completed")


class TierMoveKind(models.TextChoices):
    JOINED = "joined", _("Joined")
    UPGRADE = "upgrade", _("Upgrade")
    DOWNGRADE = "downgrade", _("Downgrade")
    GRACE = "grace", _("Below the threshold, in grace")


class IdempotencyState(models.TextChoices):
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")


class Period(models.TextChoices):
    DAY = "day", _("Day")
    WEEK = "week", _("Week")
    MONTH = "month", _("Month")
    YEAR = "year", _("Year")
    EVER = "ever", _("Ever")
