from django.db import models
from django.utils.translation import gettext_lazy as _


class SegmentKind(models.TextChoices):
    DYNAMIC = "dynamic", _("Dynamic (kept current by its rules)")
    STATIC = "static", _("Static (a frozen list)")


class SegmentPurpose(models.TextChoices):
    """A behaviour tag is a dynamic segment whose members carry the tag on their page."""

    SEGMENT = "segment", _("Segment")
    BEHAVIOUR_TAG = "tag", _("Behaviour tag")


class ChurnStatus(models.TextChoices):
    OPEN = "open", _("At risk")
    # Still reachable by a win-back: an order after churning counts.
    LAPSED = "churned", _("Churned")
    WON_BACK = "won_back", _("Won back")
    CLOSED = "closed", _("Closed")


class ChurnReason(models.TextChoices):
    """Why a customer is at risk; the code branches on them."""

    NO_ORDER = "no_order", _("No order for too long")
    P_ALIVE = "p_alive", _("Low P(alive)")
    SPEND_DROP = "spend_drop", _("Spend dropped")


class TierMetric(models.TextChoices):
    ANNUAL_SPEND = "annual_spend", _("Spend in the last 12 months")
    HISTORICAL_VALUE = "historical_value", _("Historical value (all orders)")
    LIFETIME_VALUE = "lifetime_value", _("Predicted lifetime value (CLV)")


class TierMethod(models.TextChoices):
    THRESHOLD = "threshold", _("Thresholds (amounts)")
    PERCENTILE = "percentile", _("Percentiles (shares of customers)")


class EvaluationKind(models.TextChoices):
    MONTHLY = "monthly", _("Monthly re-evaluation")
    MANUAL = "manual", _("Run by hand")
    SPEND_RISE = "spend_rise", _("Annual spend rose")


class ClusterStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")
