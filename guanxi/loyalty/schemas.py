"""JSON shapes of the loyalty program: members and their ledger, rewards, tiers, rule
versions, referrals and coupons."""

from datetime import datetime
from decimal import Decimal
from typing import Any

from ninja import Schema
from pydantic import Field

from guanxi.core.api import ConflictOut, Id, PageOut, QueryIn, StrictIn, When

from .choices import EntryKind, Period, QualifyBy, RewardKind, Rounding

# The largest value of a PositiveIntegerField / PositiveSmallIntegerField on every database.
MAX_INT = 2**31 - 1
MAX_SMALL = 2**15 - 1

RULES_HELP = (
    'A list of rules: {"name": "周末双倍", "kind": "multiplier", "factor": 2, "weekdays": [6, 7], '
    '"categories": [], "channels": [], "tiers": [], "priority": 10, "stop": false, "cap": null} '
    'or {"name": "首单奖励", "kind": "bonus", "event": "first_order", "points": 100, '
    '"limit": 1, "per": "ever"}; a problem is a 422 naming its place (`rules[0].factor`).'
)


class LoyaltyConflictOut(ConflictOut):
    balance: int | None = Field(None, description="The member's balance, when it fell short.")


# -- the program ------------------------------------------------------------------------------


class ProgramOut(Schema):
    name: str
    name_en: str
    is_active: bool
    auto_enrol: bool
    expiry_months: int = Field(description="Lots expire this many months after earning; 0 never.")
    warn_days: int
    qualify_by: QualifyBy
    grace_days: int


class ProgramPatch(StrictIn):
    name: str | None = Field(None, max_length=100)
    name_en: str | None = Field(None, max_length=100)
    is_active: bool | None = None
    auto_enrol: bool | None = None
    expiry_months: int | None = None
    warn_days: int | None = None
    qualify_by: QualifyBy | None = None
    grace_days: int | None = None


# -- members and their ledger -----------------------------------------------------------------


class TierRefOut(Schema):
    key: str
    name: str
    name_en: str


class MemberOut(Schema):
    customer: int
    customer_name: str
    balance: int
    tier: TierRefOut | None
    tier_since: datetime | None
    grace_until: datetime | None = Field(description="Keeps the tier until then (in grace).")
    earned_total: int
    redeemed_total: int
    expired_total: int
    joined_at: datetime
    referral_code: str


class MemberPage(PageOut):
    items: list[MemberOut]


class MemberFilters(QueryIn):
    tier: str | None = Field(None, max_length=30, description="A tier's key.")
    q: str | None = Field(None, max_length=100, description="Name, or a referral code.")


class ProgressOut(Schema):
    value: Decimal = Field(description="Spend or points of the last 12 months (`qualify_by`).")
    qualify_by: QualifyBy
    next_tier: str | None = Field(description="The next tier's key; null at the top.")
    next_threshold: Decimal | None
    to_next: Decimal | None = Field(description="What the next tier still needs.")


class MemberDetailOut(MemberOut):
    progress: ProgressOut
    self_service_url: str = Field(description="The member's own page (a signed link).")


class MemberIn(StrictIn):
    customer: Id


class LedgerEntryOut(Schema):
    id: int
    kind: EntryKind
    points: int
    at: datetime
    expires_at: datetime | None
    remaining: int = Field(description="Points of this lot not yet redeemed or expired.")
    order_number: str
    version: int | None = Field(description="The rules version that priced the order.")
    reward: int | None
    reason: str
    actor: str | None


class LedgerPage(PageOut):
    items: list[LedgerEntryOut]


class AdjustIn(StrictIn):
    points: int = Field(..., description="Added when positive, taken when negative.")
    reason: str = Field(..., max_length=300)


class RedeemIn(StrictIn):
    points: int | None = Field(None, description="Plain points; or give `reward`.")
    reward: Id | None = Field(None, description="A reward's id; or give `points`.")


class RedemptionOut(Schema):
    id: int
    reward: int | None
    reward_name: str | None
    points: int
    code: str = Field(description="The coupon's code (empty for gifts and plain points).")
    status: str
    expires_at: datetime | None
    used_at: datetime | None
    at: datetime


class RedemptionPage(PageOut):
    items: list[RedemptionOut]


class PointsOut(Schema):
    balance: int = Field(description="The balance after the change.")
    entry: LedgerEntryOut


class RedeemOut(PointsOut):
    redemption: RedemptionOut | None = None


class ReferralStatsOut(Schema):
    referrals: int
    conversions: int
    success_rate: float | None
    points: int = Field(description="Points the member earned by referrals.")


class TierMoveOut(Schema):
    id: int
    customer: int
    kind: str
    from_tier: str | None
    to_tier: str | None
    value: Decimal
    reason: str
    at: datetime


class TierMovePage(PageOut):
    items: list[TierMoveOut]


# -- rewards and coupons ----------------------------------------------------------------------


class RewardOut(Schema):
    id: int
    name: str
    name_en: str
    description: str
    kind: RewardKind
    points: int
    stock: int | None = Field(description="Null: unlimited.")
    value: Decimal
    min_tier: str | None = Field(description="The lowest tier's key; null: every member.")
    valid_from: datetime | None
    valid_until: datetime | None
    coupon_days: int
    is_active: bool
    created_at: datetime


class RewardPage(PageOut):
    items: list[RewardOut]


class RewardIn(StrictIn):
    name: str = Field(..., max_length=100)
    name_en: str = Field("", max_length=100)
    description: str = Field("", max_length=300)
    kind: RewardKind
    points: int = Field(..., le=MAX_INT)
    stock: int | None = Field(None, le=MAX_INT, description="Null: unlimited.")
    value: Decimal = Field(Decimal("0"), ge=0, lt=Decimal("1e8"), decimal_places=2)
    min_tier: str | None = Field(None, max_length=30, description="A tier's key.")
    valid_from: When | None = None
    valid_until: When | None = None
    coupon_days: int = Field(90, le=MAX_SMALL)
    is_active: bool = True


class RewardPatch(StrictIn):
    name: str | None = Field(None, max_length=100)
    name_en: str | None = Field(None, max_length=100)
    description: str | None = Field(None, max_length=300)
    kind: RewardKind | None = None
    points: int | None = Field(None, le=MAX_INT)
    stock: int | None = Field(None, le=MAX_INT)
    value: Decimal | None = Field(None, ge=0, lt=Decimal("1e8"), decimal_places=2)
    min_tier: str | None = Field(None, max_length=30)
    valid_from: When | None = None
    valid_until: When | None = None
    coupon_days: int | None = Field(None, le=MAX_SMALL)
    is_active: bool | None = None


class CouponCheckIn(StrictIn):
    code: str = Field(..., max_length=20)
    customer: Id


class CouponOut(Schema):
    id: int
    code: str
    customer: int
    reward: int | None
    reward_name: str | None
    kind: str | None
    value: Decimal | None
    status: str
    expires_at: datetime | None


# -- tiers ------------------------------------------------------------------------------------


class TierOut(Schema):
    id: int
    key: str
    name: str
    name_en: str
    rank: int
    threshold: Decimal
    benefits: dict[str, Any]
    color: str
    members: int


class TierIn(StrictIn):
    key: str = Field(..., max_length=30)
    name: str = Field(..., max_length=50)
    name_en: str = Field("", max_length=50)
    rank: int
    threshold: Decimal = Field(Decimal("0"), ge=0, lt=Decimal("1e12"), decimal_places=2)
    benefits: dict[str, Any] = Field(default_factory=dict)
    color: str = Field("#9ca3af", max_length=9)


class TierPatch(StrictIn):
    key: str | None = Field(None, max_length=30)
    name: str | None = Field(None, max_length=50)
    name_en: str | None = Field(None, max_length=50)
    rank: int | None = None
    threshold: Decimal | None = Field(None, ge=0, lt=Decimal("1e12"), decimal_places=2)
    benefits: dict[str, Any] | None = None
    color: str | None = Field(None, max_length=9)


# -- earning rules in versions ----------------------------------------------------------------


class VersionOut(Schema):
    id: int
    number: int
    status: str
    in_force: bool = Field(description="The version orders earn by now.")
    effective_from: datetime | None
    base_rate: Decimal
    rounding: Rounding
    order_cap: int | None
    period_cap: int | None
    period: str
    rules: list[dict[str, Any]]
    note: str
    created_by: str | None
    created_at: datetime
    published_at: datetime | None


class VersionPage(PageOut):
    items: list[VersionOut]


class VersionPatch(StrictIn):
    base_rate: Decimal | None = Field(None, description="Points per yuan.")
    rounding: Rounding | None = None
    order_cap: int | None = Field(None, le=MAX_INT, description="Most points an order earns.")
    period_cap: int | None = Field(None, le=MAX_INT, description="Most points a period earns.")
    period: Period | None = None
    rules: list[dict[str, Any]] | None = Field(None, description=RULES_HELP)
    note: str | None = Field(None, max_length=300)
    effective_from: When | None = None


class VersionIn(VersionPatch):
    based_on: Id | None = Field(None, description="A version to copy; the newest by default.")


class PublishIn(StrictIn):
    effective_from: When | None = Field(None, description="Now by default.")


# -- referrals --------------------------------------------------------------------------------


class ReferralOut(Schema):
    id: int
    referrer: int | None = Field(
        description="The referring member's customer id (null when you may not see them)."
    )
    referrer_name: str
    referrer_code: str
    referred: int = Field(description="The referred customer's id.")
    referred_name: str
    device_id: str
    at: datetime
    converted_at: datetime | None
    order: int | None


class ReferralPage(PageOut):
    items: list[ReferralOut]


class ReferralIn(StrictIn):
    customer: Id
    code: str = Field(..., max_length=16)
    device_id: str = Field("", max_length=100)


# -- backtest ---------------------------------------------------------------------------------


class BacktestIn(StrictIn):
    version: Id | None = Field(None, description="A rules version to replay (a draft, say).")
    base_rate: Decimal | None = Field(None, description="Or the rules given here: points per yuan.")
    rounding: Rounding | None = None
    order_cap: int | None = Field(None, le=MAX_INT)
    rules: list[dict[str, Any]] | None = Field(None, description=RULES_HELP)
    thresholds: dict[str, Decimal] | None = Field(
        None, description="Proposed tier thresholds by tier key (the current ones otherwise)."
    )
    months: int = Field(12, ge=1, le=60, description="Months of past orders to replay.")


class BacktestSideOut(Schema):
    points: int
    per_month: list[int]
    tiers: dict[str, int]
    liability: int


class BacktestOut(Schema):
    months: int
    since: datetime
    until: datetime
    orders: int
    customers: int
    members: int
    month_labels: list[str]
    tier_keys: list[str]
    current: BacktestSideOut
    proposed: BacktestSideOut
    difference: dict[str, Any]
    seconds: float
