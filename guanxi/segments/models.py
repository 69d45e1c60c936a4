"""Segments and their membership history; written only by `segments.services`."""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .choices import (
    ChurnStatus,
    ClusterStatus,
    EvaluationKind,
    SegmentKind,
    SegmentPurpose,
    TierMethod,
    TierMetric,
)


class Segment(models.Model):
    """A group of customers: by rules kept current (dynamic), or a frozen list (static)."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    name_en = models.CharField(_("name (English)"), max_length=100, blank=True)
    description = models.TextField(_("description"), blank=True)
    description_en = models.TextField(_("description (English)"), blank=True)
    kind = models.CharField(
        _("kind"), max_length=8, choices=SegmentKind.choices, default=SegmentKind.DYNAMIC
    )
    purpose = models.CharField(
        _("purpose"),
        max_length=8,
        choices=SegmentPurpose.choices,
        default=SegmentPurpose.SEGMENT,
        db_index=True,
    )
    definition = models.JSONField(_("rules"), default=dict, blank=True)
    # What the rules read (customer, orders, value, time …): which changes re-evaluate it.
    depends = models.JSONField(default=list, blank=True, editable=False)
    is_active = models.BooleanField(_("active"), default=True)
    source = models.CharField(_("made by"), max_length=100, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    member_count = models.PositiveIntegerField(_("members"), default=0)
    refreshed_at = models.DateTimeField(_("refreshed at"), null=True, blank=True)
    refresh_ms = models.PositiveIntegerField(_("refresh time (ms)"), null=True, blank=True)

    class Meta:
        verbose_name = _("segment")
        verbose_name_plural = _("segments")
        ordering = ["name"]

    def __str__(self):
        return self.label

    @property
    def label(self) -> str:
        from django.utils.translation import get_language

        if (get_language() or "").startswith("en") and self.name_en:
            return self.name_en
        return self.name

    @property
    def description_text(self) -> str:
        from django.utils.translation import get_language

        if (get_language() or "").startswith("en") and self.description_en:
            return self.description_en
        return self.description

    @property
    def is_dynamic(self) -> bool:
        return self.kind == SegmentKind.DYNAMIC


class SegmentMembership(models.Model):
    """One spell of a customer in a segment: entered, and left (null while a member)."""

    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="memberships")
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="segment_memberships"
    )
    entered_at = models.DateTimeField(_("entered"))
    left_at = models.DateTimeField(_("left"), null=True, blank=True)

    class Meta:
        verbose_name = _("segment membership")
        verbose_name_plural = _("segment memberships")
        ordering = ["-entered_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["segment", "customer"],
                condition=Q(left_at__isnull=True),
                name="segment_one_current_membership",
            )
        ]
        indexes = [
            models.Index(fields=["customer", "left_at"], name="seg_member_customer"),
            models.Index(fields=["segment", "entered_at"], name="seg_member_entered"),
            models.Index(fields=["segment", "left_at"], name="seg_member_left"),
        ]

    def __str__(self):
        return f"{self.segment_id}: {self.customer_id}"


class LifecycleSettings(models.Model):
    """When lifecycle stages move by themselves, and what an at-risk customer sets off; a
    single row (`LifecycleSettings.current()`)."""

    enabled = models.BooleanField(_("move stages automatically"), default=True)
    at_risk_days = models.PositiveIntegerField(
        _("at risk after (days without an order)"),
        default=90,
        validators=[MinValueValidator(1), MaxValueValidator(3650)],
    )
    at_risk_p_alive = models.FloatField(
        _("at risk below P(alive)"),
        null=True,
        blank=True,
        default=0.3,
        validators=[MinValueValidator(0), MaxValueValidator(1)],
        help_text=_("Leave empty to ignore P(alive)."),
    )
    churned_days = models.PositiveIntegerField(
        _("churned after (days without an order)"),
        default=180,
        validators=[MinValueValidator(1), MaxValueValidator(3650)],
    )
    spend_drop = models.FloatField(
        _("spend drop that counts as a warning sign"),
        default=0.5,
        validators=[MinValueValidator(0), MaxValueValidator(1)],
        help_text=_("0.5: the last 12 months' spend is half or less of the 12 months before."),
    )
    alert_owner = models.BooleanField(_("alert the owner (in the app and by email)"), default=True)
    winback_task = models.BooleanField(_("create a win-back task for the owner"), default=True)
    task_due_days = models.PositiveSmallIntegerField(
        _("win-back task due in (days)"), default=7, validators=[MaxValueValidator(90)]
    )
    last_run_on = models.DateField(_("last run"), null=True, blank=True, editable=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("lifecycle settings")
        verbose_name_plural = _("lifecycle settings")

    def __str__(self):
        return str(_("Lifecycle settings"))

    @classmethod
    def current(cls) -> "LifecycleSettings":
        return cls.objects.order_by("pk").first() or cls()


class ChurnCase(models.Model):
    """A customer at risk of churning: why, how much value is at risk, and how it ended."""

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="churn_cases"
    )
    opened_at = models.DateTimeField(_("at risk since"), db_index=True)
    status = models.CharField(
        _("status"), max_length=10, choices=ChurnStatus.choices, default=ChurnStatus.OPEN
    )
    reasons = models.JSONField(_("reasons"), default=list)
    p_alive = models.FloatField(_("P(alive)"), null=True, blank=True)
    last_order_at = models.DateTimeField(_("last order"), null=True, blank=True)
    spend_recent = models.DecimalField(
        _("spend, last 12 months"), max_digits=14, decimal_places=2, default=Decimal("0")
    )
    spend_before = models.DecimalField(
        _("spend, 12 months before"), max_digits=14, decimal_places=2, default=Decimal("0")
    )
    value_at_risk = models.DecimalField(
        _("value at risk"), max_digits=14, decimal_places=2, default=Decimal("0"), db_index=True
    )
    task_id = models.BigIntegerField(_("win-back task"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True, db_index=True)

    class Meta:
        verbose_name = _("churn warning")
        verbose_name_plural = _("churn warnings")
        ordering = ["-value_at_risk", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer"],
                condition=Q(closed_at__isnull=True),
                name="churn_one_open_case",
            )
        ]
        indexes = [models.Index(fields=["status", "-value_at_risk"], name="churn_status_value")]

    def __str__(self):
        return f"{self.customer_id} ({self.status})"


class TierSettings(models.Model):
    """How customers are sorted into value tiers; a single row."""

    metric = models.CharField(
        _("measured by"), max_length=20, choices=TierMetric.choices, default=TierMetric.ANNUAL_SPEND
    )
    method = models.CharField(
        _("method"), max_length=10, choices=TierMethod.choices, default=TierMethod.PERCENTILE
    )
    monthly = models.BooleanField(_("re-evaluate every month"), default=True)
    rise_share = models.FloatField(
        _("re-evaluate at once when annual spend rises by"),
        default=0.5,
        null=True,
        blank=True,
        validators=[MinValueValidator(0.01), MaxValueValidator(100)],
        help_text=_("0.5 means a rise by half. Leave empty to wait for the monthly re-evaluation."),
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("tier settings")
        verbose_name_plural = _("tier settings")

    def __str__(self):
        return str(_("Tier settings"))

    @classmethod
    def current(cls) -> "TierSettings":
        return cls.objects.order_by("pk").first() or cls()


class Tier(models.Model):
    """A value tier (VIP, high potential, normal …): names and limits are the company's."""

    name = models.CharField(_("name"), max_length=50, unique=True)
    name_en = models.CharField(_("name (English)"), max_length=50, blank=True)
    rank = models.PositiveSmallIntegerField(
        _("rank"), default=0, help_text=_("1 is the top tier; the last tier takes everyone else.")
    )
    min_value = models.DecimalField(
        _("from amount"),
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("With thresholds: customers whose measure reaches this amount."),
    )
    top_share = models.FloatField(
        _("top share of customers"),
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(1)],
        help_text=_(
            "With percentiles: 0.05 means the top five in a hundred customers by the measure."
        ),
    )
    color = models.CharField(_("colour"), max_length=20, default="gray")
    benefits = models.TextField(_("how they are served"), blank=True)

    class Meta:
        verbose_name = _("value tier")
        verbose_name_plural = _("value tiers")
        ordering = ["rank", "pk"]

    def __str__(self):
        return self.label

    @property
    def label(self) -> str:
        from django.utils.translation import get_language

        if (get_language() or "").startswith("en") and self.name_en:
            return self.name_en
        return self.name


class TierEvaluation(models.Model):
    """One sorting of customers into tiers, and what it moved."""

    kind = models.CharField(_("kind"), max_length=12, choices=EvaluationKind.choices)
    at = models.DateTimeField(_("time"), db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    metric = models.CharField(_("measured by"), max_length=20, choices=TierMetric.choices)
    method = models.CharField(_("method"), max_length=10, choices=TierMethod.choices)
    # The amount each tier started from in this evaluation (percentiles become amounts).
    cuts = models.JSONField(_("limits"), default=dict)
    customers = models.PositiveIntegerField(_("customers"), default=0)
    moved = models.PositiveIntegerField(_("moved"), default=0)
    up = models.PositiveIntegerField(_("moved up"), default=0)
    down = models.PositiveIntegerField(_("moved down"), default=0)
    summary = models.JSONField(_("moves"), default=list)  # [{from, to, count}]
    ms = models.PositiveIntegerField(_("time (ms)"), default=0)

    class Meta:
        verbose_name = _("tier evaluation")
        verbose_name_plural = _("tier evaluations")
        ordering = ["-at", "-id"]

    def __str__(self):
        return f"{self.at:%Y-%m-%d} {self.get_kind_display()}"


class CustomerTier(models.Model):
    """A customer's current tier and the measure it was given on."""

    customer = models.OneToOneField(
        "customers.Customer", on_delete=models.CASCADE, related_name="tier", primary_key=True
    )
    tier = models.ForeignKey(Tier, on_delete=models.CASCADE, related_name="members")
    since = models.DateTimeField(_("since"))
    basis = models.DecimalField(_("measure"), max_digits=14, decimal_places=2)
    annual_spend = models.DecimalField(
        _("annual spend when evaluated"), max_digits=14, decimal_places=2, default=Decimal("0")
    )

    class Meta:
        verbose_name = _("customer tier")
        verbose_name_plural = _("customer tiers")
        indexes = [models.Index(fields=["tier"], name="customer_tier_tier")]

    def __str__(self):
        return f"{self.customer_id}: {self.tier_id}"


class TierMove(models.Model):
    """A customer moved between tiers: when, by which evaluation, and why."""

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="tier_moves"
    )
    evaluation = models.ForeignKey(
        TierEvaluation, on_delete=models.CASCADE, related_name="moves", null=True
    )
    from_tier = models.ForeignKey(
        Tier, verbose_name=_("from"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    to_tier = models.ForeignKey(
        Tier, verbose_name=_("to"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(_("time"))
    basis = models.DecimalField(_("measure"), max_digits=14, decimal_places=2)
    previous_basis = models.DecimalField(
        _("measure before"), max_digits=14, decimal_places=2, null=True
    )
    reason = models.CharField(_("why"), max_length=255)

    class Meta:
        verbose_name = _("tier move")
        verbose_name_plural = _("tier moves")
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["customer", "-at"], name="tier_move_customer"),
            models.Index(fields=["evaluation"], name="tier_move_evaluation"),
        ]

    def __str__(self):
        return f"{self.customer_id}: {self.from_tier_id} → {self.to_tier_id}"


class ClusterRun(models.Model):
    """One k-means clustering of customers on their value and behaviour figures."""

    status = models.CharField(
        _("status"), max_length=8, choices=ClusterStatus.choices, default=ClusterStatus.QUEUED
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    k = models.PositiveSmallIntegerField(_("clusters"), null=True, blank=True)
    k_asked = models.PositiveSmallIntegerField(_("clusters asked for"), null=True, blank=True)
    features = models.JSONField(_("features"), default=list)
    scores = models.JSONField(_("silhouette by number of clusters"), default=dict)
    clusters = models.JSONField(_("clusters"), default=list)
    customers = models.PositiveIntegerField(_("customers"), default=0)
    error = models.TextField(_("error"), blank=True)
    ms = models.PositiveIntegerField(_("time (ms)"), default=0)

    class Meta:
        verbose_name = _("clustering")
        verbose_name_plural = _("clusterings")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M} k={self.k}"


class OrderWindow(models.Model):
    """Per-customer order figures over one time window (and sales channel), kept between
    refreshes so the editor's live count reads them instead of grouping the orders again.

    A refresh builds the window's table (`table`) as of its time (`as_of`): each customer's
    revenue and refunded orders placed since `as_of - days`. Every write of orders keeps the
    rows of the customers it touched (`segments.windows.windows_follow`). Read later, the
    orders that have since left the window (placed between `as_of - days` and `now - days`)
    are taken off, so the figures are exact at any time (see `segments.windows`)."""

    days = models.PositiveIntegerField(null=True, blank=True)  # None: all time
    channel = models.CharField(max_length=12, blank=True)
    table = models.CharField(max_length=63)
    as_of = models.DateTimeField()
    rows = models.PositiveIntegerField(default=0)
    built_ms = models.PositiveIntegerField(default=0)
    lines = models.BooleanField(default=False)  # has the line figures (lines, discounted)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["days", "channel"], name="order_window_uniq"),
            models.UniqueConstraint(
                fields=["channel"], condition=Q(days__isnull=True), name="order_window_all_uniq"
            ),
        ]

    def __str__(self):
        return f"{self.days or '∞'} days {self.channel}".strip()


class OrderWindowTouch(models.Model):
    """A customer whose orders changed, and when: a window being built from an earlier
    reading of the orders works these customers out again before it replaces the old one."""

    customer_id = models.BigIntegerField()
    at = models.DateTimeField(db_index=True)

    def __str__(self):
        return f"{self.customer_id} at {self.at:%Y-%m-%d %H:%M:%S}"
