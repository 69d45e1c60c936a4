"""Customer value figures: per customer (current, with a history of changes), per refresh
(the fitted models and their diagnostics) and per owner (the dashboard's aggregates, so
that every figure can be scoped by who may see which customers without re-reading orders).

Written only by `analytics.services`; other apps read them through `analytics.selectors`.
"""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from .choices import (
    ChineseSegment,
    NamedSegment,
    PurchaseModelKind,
    RefreshStatus,
    SegmentScheme,
)


class AnalyticsSettings(models.Model):
    """How value is scored and predicted; a single row (`AnalyticsSettings.current()`)."""

    segment_scheme = models.CharField(
        _("RFM segments"),
        max_length=8,
        choices=SegmentScheme.choices,
        default=SegmentScheme.CHINESE,
    )
    high_score = models.PositiveSmallIntegerField(
        _("high from score"),
        default=4,
        validators=[MinValueValidator(2), MaxValueValidator(5)],
        help_text=_("In the eight-class model, an R, F or M score this high or higher is high."),
    )
    active_days = models.PositiveIntegerField(
        _("active base (days)"),
        default=0,
        help_text=_(
            "RFM scores are quantiles over the customers with an order in this many days "
            "before the as-of date; 0 means every customer who ever ordered."
        ),
    )
    purchase_model = models.CharField(
        _("purchase model"),
        max_length=8,
        choices=PurchaseModelKind.choices,
        default=PurchaseModelKind.MBGNBD,
    )
    churn_days = models.PositiveIntegerField(
        _("churned after (days without an order)"),
        default=180,
        validators=[MinValueValidator(1), MaxValueValidator(3650)],
    )
    lifetime_years = models.PositiveSmallIntegerField(
        _("lifetime horizon (years)"),
        default=3,
        validators=[MinValueValidator(1), MaxValueValidator(10)],
    )
    discount_rate = models.DecimalField(
        _("annual discount rate"),
        max_digits=4,
        decimal_places=3,
        default=Decimal("0.100"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("0.9"))],
    )
    nightly = models.BooleanField(_("refresh every night"), default=True)
    nightly_hour = models.PositiveSmallIntegerField(
        _("nightly refresh hour"), default=2, validators=[MaxValueValidator(23)]
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("value analytics settings")
        verbose_name_plural = _("value analytics settings")

    def __str__(self):
        return str(_("Value analytics settings"))

    @classmethod
    def current(cls) -> "AnalyticsSettings":
        return cls.objects.order_by("pk").first() or cls()


class ValueRefresh(models.Model):
    """One computation of every customer's value as of a date, with the models it fitted."""

    as_of = models.DateField(_("as of"))
    status = models.CharField(
        _("status"), max_length=8, choices=RefreshStatus.choices, default=RefreshStatus.QUEUED
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
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)
    # What it was computed with (a snapshot of the settings) and what it found.
    options = models.JSONField(_("settings"), default=dict)
    customers = models.PositiveIntegerField(_("customers"), default=0)
    buyers = models.PositiveIntegerField(_("buyers"), default=0)
    repeat_buyers = models.PositiveIntegerField(_("repeat buyers"), default=0)
    time_unit = models.CharField(_("time unit"), max_length=8, default="week")
    purchase_model = models.CharField(
        _("purchase model"), max_length=8, choices=PurchaseModelKind.choices, blank=True
    )
    purchase_params = models.JSONField(_("purchase model parameters"), default=dict)
    purchase_log_likelihood = models.FloatField(_("log-likelihood"), null=True, blank=True)
    spend_params = models.JSONField(_("spend model parameters"), default=dict)
    spend_log_likelihood = models.FloatField(_("spend log-likelihood"), null=True, blank=True)
    diagnostics = models.JSONField(_("diagnostics"), default=dict)
    timings = models.JSONField(_("timings"), default=dict)

    class Meta:
        verbose_name = _("value refresh")
        verbose_name_plural = _("value refreshes")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.as_of} ({self.get_status_display()})"


class CustomerValue(models.Model):
    """A customer's value figures as of the latest refresh."""

    # Derived data, rewritten whole by every refresh from the customer ids it has just read:
    # no database constraint, so that a million inserts are not a million key checks. The
    # ORM still deletes a customer's rows with the customer; a refresh drops any stray row.
    customer = models.OneToOneField(
        "customers.Customer",
        verbose_name=_("customer"),
        primary_key=True,
        on_delete=models.CASCADE,
        related_name="value",
        db_constraint=False,
    )
    as_of = models.DateField(_("as of"))
    orders = models.PositiveIntegerField(_("orders"), default=0)
    repeat_purchases = models.PositiveIntegerField(
        _("repeat purchases"), default=0, help_text=_("Purchase days after the first.")
    )
    first_order_on = models.DateField(_("first order"), null=True)
    last_order_on = models.DateField(_("last order"), null=True)
    recency_days = models.PositiveIntegerField(_("recency (days)"), null=True)
    historical_value = models.DecimalField(
        _("historical value"), max_digits=16, decimal_places=2, default=Decimal("0")
    )
    average_order_value = models.DecimalField(
        _("average order value"), max_digits=14, decimal_places=2, null=True
    )
    r_score = models.PositiveSmallIntegerField(_("R"), null=True)
    f_score = models.PositiveSmallIntegerField(_("F"), null=True)
    m_score = models.PositiveSmallIntegerField(_("M"), null=True)
    # Ten classes at most: a filter on one reads a tenth of the table, which a scan does as
    # fast as an index would; the indexes would cost every refresh seconds.
    segment_cn = models.CharField(
        _("RFM class"), max_length=20, choices=ChineseSegment.choices, blank=True
    )
    segment_named = models.CharField(
        _("RFM segment"), max_length=20, choices=NamedSegment.choices, blank=True
    )
    p_alive = models.FloatField(_("P(alive)"), null=True, db_index=True)
    purchases_90 = models.FloatField(_("predicted purchases, 90 days"), null=True)
    purchases_365 = models.FloatField(_("predicted purchases, 365 days"), null=True)
    expected_order_value = models.DecimalField(
        _("expected order value"), max_digits=14, decimal_places=2, null=True
    )
    value_90 = models.DecimalField(
        _("predicted value, 90 days"), max_digits=16, decimal_places=2, null=True
    )
    value_365 = models.DecimalField(
        _("predicted value, 365 days"), max_digits=16, decimal_places=2, null=True
    )
    lifetime_value = models.DecimalField(
        _("predicted lifetime value"), max_digits=16, decimal_places=2, null=True, db_index=True
    )

    class Meta:
        verbose_name = _("customer value")
        verbose_name_plural = _("customer values")
        indexes = [models.Index(fields=["historical_value"], name="value_historical")]

    def __str__(self):
        return f"{self.customer_id} @ {self.as_of}"


class CustomerValueChange(models.Model):
    """A customer's scores when they changed: the history behind "was a champion in May"."""

    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
        db_constraint=False,  # as CustomerValue.customer
    )
    as_of = models.DateField(_("as of"))
    r_score = models.PositiveSmallIntegerField(_("R"), null=True)
    f_score = models.PositiveSmallIntegerField(_("F"), null=True)
    m_score = models.PositiveSmallIntegerField(_("M"), null=True)
    segment_cn = models.CharField(_("RFM class"), max_length=20, blank=True)
    segment_named = models.CharField(_("RFM segment"), max_length=20, blank=True)
    p_alive = models.FloatField(_("P(alive)"), null=True)
    lifetime_value = models.DecimalField(
        _("predicted lifetime value"), max_digits=16, decimal_places=2, null=True
    )
    historical_value = models.DecimalField(
        _("historical value"), max_digits=16, decimal_places=2, default=Decimal("0")
    )

    class Meta:
        verbose_name = _("customer value change")
        verbose_name_plural = _("customer value changes")
        indexes = [models.Index(fields=["customer", "as_of"], name="value_change_customer")]

    def __str__(self):
        return f"{self.customer_id} @ {self.as_of}"


class ValueFigure(models.Model):
    """An aggregate of one refresh for one owner's customers (kind, key): summed over the
    owners a viewer may see, it gives the viewer's dashboard exactly."""

    refresh = models.ForeignKey(ValueRefresh, on_delete=models.CASCADE, related_name="figures")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(max_length=16)
    key = models.CharField(max_length=24)
    sub = models.IntegerField(default=0)
    customers = models.BigIntegerField(default=0)
    orders = models.BigIntegerField(default=0)
    amount = models.FloatField(default=0)

    class Meta:
        indexes = [models.Index(fields=["refresh", "kind"], name="value_figure_kind")]

    def __str__(self):
        return f"{self.kind} {self.key} {self.sub}"
