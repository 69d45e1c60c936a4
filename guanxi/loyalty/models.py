"""The loyalty and referral programs: one program's settings, its earning rules in versions,
members with a balance kept beside an append-only ledger, tiers, rewards and referrals.

The balance of a member is stored on the member (read in O(1)) and only ever changed by a
conditional `UPDATE` in the same transaction as the ledger entry that explains it, so it is
always the sum of the ledger (`services/ledger.py`)."""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import get_language, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from guanxi.core.models import TimestampedModel

from .choices import (
    EntryKind,
    IdempotencyState,
    QualifyBy,
    RedemptionStatus,
    RewardKind,
    Rounding,
    TierMoveKind,
    VersionStatus,
)


def _bilingual(zh: str, en: str) -> str:
    return en if en and (get_language() or "").startswith("en") else zh


class LoyaltyProgram(TimestampedModel):
    """The program's settings (one row; `current()` gives the defaults before it is saved)."""

    name = models.CharField(_("name"), max_length=100, default="会员积分计划")
    name_en = models.CharField(_("name (English)"), max_length=100, default="Loyalty program")
    is_active = models.BooleanField(_("active"), default=True)
    auto_enrol = models.BooleanField(
        _("enrol customers at their first order"),
        default=True,
        help_text=_("Otherwise customers become members only when enrolled."),
    )
    expiry_months = models.PositiveSmallIntegerField(
        _("points expire after (months)"),
        default=24,
        help_text=_("Each lot of points expires this many months after it was earned; 0 = never."),
    )
    warn_days = models.PositiveSmallIntegerField(_("warn members (days before expiry)"), default=30)
    qualify_by = models.CharField(
        _("tiers qualify by"), max_length=8, choices=QualifyBy.choices, default=QualifyBy.SPEND
    )
    grace_days = models.PositiveSmallIntegerField(
        _("grace period before a downgrade (days)"), default=30
    )

    class Meta:
        verbose_name = _("loyalty program")
        verbose_name_plural = _("loyalty program")

    def __str__(self):
        return self.label

    @property
    def label(self) -> str:
        return _bilingual(self.name, self.name_en)

    @classmethod
    def current(cls) -> "LoyaltyProgram":
        return cls.objects.order_by("pk").first() or cls()


class RuleVersion(TimestampedModel):
    """One version of the earning rules. A published version is never changed again; an order
    earns by the newest published version whose `effective_from` is not after the order."""

    number = models.PositiveIntegerField(_("version"), unique=True)
    status = models.CharField(
        _("status"), max_length=10, choices=VersionStatus.choices, default=VersionStatus.DRAFT
    )
    effective_from = models.DateTimeField(_("in force from"), null=True, blank=True)
    base_rate = models.DecimalField(
        _("points per yuan"), max_digits=8, decimal_places=4, default=Decimal("1")
    )
    rounding = models.CharField(
        _("rounding"), max_length=8, choices=Rounding.choices, default=Rounding.DOWN
    )
    order_cap = models.PositiveIntegerField(
        _("most points per order"), null=True, blank=True, help_text=_("Empty = no cap.")
    )
    period_cap = models.PositiveIntegerField(
        _("most points from orders per member and period"), null=True, blank=True,
        help_text=_("Empty = no cap."),
    )  # fmt: skip
    period = models.CharField(_("period"), max_length=8, default="month")
    rules = models.JSONField(_("rules"), default=list, blank=True)
    note = models.CharField(_("note"), max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+", verbose_name=_("created by"),
    )  # fmt: skip
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)

    class Meta:
        verbose_name = _("earning rules version")
        verbose_name_plural = _("earning rules versions")
        ordering = ["-number"]

    def __str__(self):
        return f"v{self.number}"


class LoyaltyTier(models.Model):
    """A membership tier (silver, gold, platinum …): thresholds and benefits are data."""

    key = models.SlugField(_("key"), max_length=30, unique=True)
    name = models.CharField(_("name"), max_length=50)
    name_en = models.CharField(_("name (English)"), max_length=50, blank=True)
    rank = models.PositiveSmallIntegerField(_("rank"), unique=True, help_text=_("1 = lowest."))
    threshold = models.DecimalField(
        _("threshold"), max_digits=14, decimal_places=2, default=Decimal("0"),
        help_text=_("Spend (yuan) or points in the last 12 months, as the program qualifies."),
    )  # fmt: skip
    benefits = models.JSONField(
        _("benefits"), default=dict, blank=True,
        help_text=_("multiplier, discount_pct, free_shipping, dedicated_manager, birthday_gift"),
    )  # fmt: skip
    color = models.CharField(_("colour"), max_length=9, default="#9ca3af")

    class Meta:
        verbose_name = _("membership tier")
        verbose_name_plural = _("membership tiers")
        ordering = ["rank"]

    def __str__(self):
        return self.label

    @property
    def label(self) -> str:
        return _bilingual(self.name, self.name_en)

    @property
    def multiplier(self) -> Decimal:
        return Decimal(str(self.benefits.get("multiplier") or 1))


class Member(models.Model):
    """A customer in the program. `balance` is the sum of the member's ledger, kept by
    conditional updates; `tier` moves up at once and down only at an evaluation."""

    customer = models.OneToOneField(
        "customers.Customer", on_delete=models.CASCADE, related_name="loyalty",
        verbose_name=_("customer"),
    )  # fmt: skip
    balance = models.IntegerField(_("balance"), default=0)
    earned_total = models.PositiveBigIntegerField(_("points earned in all"), default=0)
    redeemed_total = models.PositiveBigIntegerField(_("points redeemed in all"), default=0)
    expired_total = models.PositiveBigIntegerField(_("points expired in all"), default=0)
    tier = models.ForeignKey(
        LoyaltyTier, null=True, blank=True, on_delete=models.SET_NULL, related_name="members",
        verbose_name=pgettext_lazy("loyalty", "tier"),
    )  # fmt: skip
    tier_since = models.DateTimeField(_("in this tier since"), null=True, blank=True)
    grace_until = models.DateTimeField(_("keeps the tier until"), null=True, blank=True)
    referral_code = models.CharField(_("referral code"), max_length=16, unique=True)
    referred_by = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="referrals_made",
        verbose_name=_("referred by"),
    )  # fmt: skip
    joined_at = models.DateTimeField(_("joined"), db_index=True)
    last_sign_in = models.DateField(_("last sign-in"), null=True, blank=True)

    class Meta:
        verbose_name = pgettext_lazy("loyalty", "member")
        verbose_name_plural = pgettext_lazy("loyalty", "members")
        ordering = ["-joined_at", "-id"]

    def __str__(self):
        return f"{self.customer_id}: {self.balance}"


class LedgerEntry(models.Model):
    """One change of a balance. Never updated, except `remaining`: a positive entry is a lot
    of points that redemptions and expiry use up, oldest first."""

    # Fewer indexes make a million inserts cheaper: the member's is `ledger_member_at`'s
    # prefix; rewards and users are seldom deleted (their rows are then looked for by a scan).
    member = models.ForeignKey(
        Member, on_delete=models.CASCADE, related_name="entries", db_index=False
    )
    kind = models.CharField(_("kind"), max_length=8, choices=EntryKind.choices)
    points = models.IntegerField(_("points"))
    remaining = models.IntegerField(_("points left in the lot"), default=0)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    at = models.DateTimeField(_("when"))
    order = models.ForeignKey(
        "orders.Order", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        db_index=False, verbose_name=_("order"),
    )  # fmt: skip
    order_number = models.CharField(_("order number"), max_length=64, blank=True)
    version = models.PositiveIntegerField(_("rules version"), null=True, blank=True)
    reward = models.ForeignKey(
        "Reward", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        db_index=False, verbose_name=_("reward"),
    )  # fmt: skip
    lot = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        db_index=False, verbose_name=_("lot"),
    )  # fmt: skip
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    detail = models.JSONField(_("detail"), default=dict, blank=True)
    warned_at = models.DateTimeField(_("expiry warned"), null=True, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+", db_index=False, verbose_name=_("by"),
    )  # fmt: skip
    created_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("ledger entry")
        verbose_name_plural = _("ledger entries")
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["member", "-at", "-id"], name="ledger_member_at"),
            # Lots to use up or expire, oldest expiry first.
            models.Index(
                fields=["member", "expires_at", "id"],
                name="ledger_open_lots",
                condition=Q(remaining__gt=0),
            ),
            models.Index(
                fields=["expires_at", "member"],
                name="ledger_expiring",
                condition=Q(remaining__gt=0),
            ),
            models.Index(fields=["order", "kind"], name="ledger_order"),
            models.Index(fields=["at", "kind"], name="ledger_at_kind"),
            # Expiry entries point at their lot: without this, deleting entries (a member,
            # a customer) checks each deleted row against the whole ledger.
            models.Index(fields=["lot"], name="ledger_lot", condition=Q(lot__isnull=False)),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(remaining__gte=0), name="ledger_remaining_gte_0"),
        ]

    def __str__(self):
        return f"{self.kind} {self.points:+d}"


class TierMove(models.Model):
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="tier_moves")
    kind = models.CharField(_("kind"), max_length=10, choices=TierMoveKind.choices)
    from_tier = models.ForeignKey(
        LoyaltyTier, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("from"),
    )  # fmt: skip
    to_tier = models.ForeignKey(
        LoyaltyTier, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("to"),
    )  # fmt: skip
    value = models.DecimalField(_("qualifying value"), max_digits=14, decimal_places=2)
    reason = models.CharField(_("reason"), max_length=300)
    at = models.DateTimeField(_("when"), db_index=True)

    class Meta:
        verbose_name = _("tier move")
        verbose_name_plural = _("tier moves")
        ordering = ["-at", "-id"]

    def __str__(self):
        return f"{self.kind} {self.from_tier_id} → {self.to_tier_id}"


class Reward(TimestampedModel):
    """Something in the catalogue: a gift, a coupon or a discount, for points."""

    name = models.CharField(_("name"), max_length=100)
    name_en = models.CharField(_("name (English)"), max_length=100, blank=True)
    description = models.CharField(_("description"), max_length=300, blank=True)
    kind = models.CharField(_("kind"), max_length=10, choices=RewardKind.choices)
    points = models.PositiveIntegerField(_("points price"))
    stock = models.PositiveIntegerField(_("stock"), null=True, blank=True,
                                        help_text=_("Empty = unlimited."))  # fmt: skip
    value = models.DecimalField(
        _("value (yuan or %)"), max_digits=10, decimal_places=2, default=Decimal("0")
    )
    min_tier = models.ForeignKey(
        LoyaltyTier, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("lowest tier"), help_text=_("Empty = every member."),
    )  # fmt: skip
    valid_from = models.DateTimeField(_("available from"), null=True, blank=True)
    valid_until = models.DateTimeField(_("available until"), null=True, blank=True)
    coupon_days = models.PositiveSmallIntegerField(_("coupon valid for (days)"), default=90)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("reward")
        verbose_name_plural = _("rewards")
        ordering = ["points", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(stock__isnull=True) | Q(stock__gte=0), name="reward_stock_gte_0"
            ),
        ]

    def __str__(self):
        return self.label

    @property
    def label(self) -> str:
        return _bilingual(self.name, self.name_en)


class Redemption(models.Model):
    """A redemption of points, for a reward or as plain points; a coupon has its code."""

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="redemptions")
    reward = models.ForeignKey(
        Reward, null=True, blank=True, on_delete=models.PROTECT, related_name="redemptions"
    )
    entry = models.OneToOneField(LedgerEntry, on_delete=models.PROTECT, related_name="+")
    points = models.PositiveIntegerField(_("points"))
    code = models.CharField(_("coupon code"), max_length=20, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=RedemptionStatus.choices,
        default=RedemptionStatus.ISSUED,
    )  # fmt: skip
    expires_at = models.DateTimeField(_("coupon expires"), null=True, blank=True)
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)
    used_order = models.ForeignKey(
        "orders.Order", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(_("when"), db_index=True)

    class Meta:
        verbose_name = _("redemption")
        verbose_name_plural = _("redemptions")
        ordering = ["-at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["code"], condition=~Q(code=""), name="redemption_code_uniq"
            ),
        ]

    def __str__(self):
        return f"{self.points} ({self.code or self.reward_id or 'points'})"


class Referral(models.Model):
    """A customer brought by a member's code; converted when their first order completes."""

    referrer = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="referrals")
    referred = models.OneToOneField(
        "customers.Customer", on_delete=models.CASCADE, related_name="referral",
        verbose_name=_("referred customer"),
    )  # fmt: skip
    device_id = models.CharField(_("device id"), max_length=100, blank=True, db_index=True)
    at = models.DateTimeField(_("signed up"), db_index=True)
    converted_at = models.DateTimeField(_("converted"), null=True, blank=True)
    order = models.ForeignKey(
        "orders.Order", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("referral")
        verbose_name_plural = _("referrals")
        ordering = ["-at", "-id"]

    def __str__(self):
        return f"{self.referrer_id} → {self.referred_id}"


class IdempotentRequest(models.Model):
    """What a request with an `Idempotency-Key` answered, so a retry gets the same answer."""

    key = models.CharField(max_length=200)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    scope = models.CharField(max_length=200)
    body_hash = models.CharField(max_length=64)
    state = models.CharField(max_length=8, choices=IdempotencyState.choices)
    status_code = models.PositiveSmallIntegerField(null=True)
    response = models.JSONField(null=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_user_key"),
        ]

    def __str__(self):
        return self.key
