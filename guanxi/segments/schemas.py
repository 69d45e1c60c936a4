"""JSON shapes of segments, their members and history."""

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from ninja import Schema
from pydantic import Field

from guanxi.core.api import Id, PageOut, QueryIn, StrictIn

from .choices import SegmentKind, SegmentPurpose

DEFINITION_HELP = (
    'Groups {"all": [...]}, {"any": [...]}, {"not": {...}} nesting conditions '
    '{"field": "city", "op": "eq", "value": "北京"}; aggregates take "days", e.g. '
    '{"field": "orders.count", "op": "gte", "value": 2, "days": 90}. '
    "GET /api/v1/segments/fields lists every field with its operators."
)


class SegmentIn(StrictIn):
    name: str = Field(..., max_length=100)
    name_en: str = Field("", max_length=100, description="The name shown in English.")
    description: str = Field("", max_length=2000)
    description_en: str = Field("", max_length=2000)
    kind: SegmentKind = SegmentKind.DYNAMIC
    purpose: SegmentPurpose = SegmentPurpose.SEGMENT
    definition: dict[str, Any] | None = Field(None, description=DEFINITION_HELP)


class SegmentPatch(StrictIn):
    name: str | None = Field(None, max_length=100)
    name_en: str | None = Field(None, max_length=100)
    description: str | None = Field(None, max_length=2000)
    description_en: str | None = Field(None, max_length=2000)
    definition: dict[str, Any] | None = Field(None, description=DEFINITION_HELP)
    is_active: bool | None = None


class SegmentOut(Schema):
    id: int
    name: str
    name_en: str
    description: str
    description_en: str
    kind: str
    purpose: str
    definition: dict[str, Any]
    rule: str = Field(description="The rules in words.")
    depends: list[str]
    is_active: bool
    members: int = Field(description="Current members you may see.")
    refreshed_at: datetime | None
    refresh_ms: int | None
    created_at: datetime
    source: str


class SegmentPage(PageOut):
    items: list[SegmentOut]


class PreviewIn(StrictIn):
    definition: dict[str, Any] = Field(..., description=DEFINITION_HELP)


class PreviewCustomer(Schema):
    id: int
    name: str


class PreviewOut(Schema):
    count: int
    sample: list[PreviewCustomer]
    definition: dict[str, Any]
    description: str


class FieldOut(Schema):
    key: str
    label: str
    group: str
    type: str
    ops: list[str]
    window: bool
    extras: dict[str, Any]
    choices: list[list[str]] | None


class RefreshOut(Schema):
    segment_id: int
    members: int
    entered: int
    left: int
    ms: int


class MemberOut(Schema):
    id: int
    name: str
    company_name: str
    stage: str
    owner: str | None


class MemberPage(PageOut):
    items: list[MemberOut]


class MembersIn(StrictIn):
    customer_ids: list[Id] = Field(..., min_length=1, max_length=10000)


class CountOut(Schema):
    count: int


class SpellOut(Schema):
    customer_id: int
    customer_name: str
    entered_at: datetime
    left_at: datetime | None


class HistoryOut(PageOut):
    joined: int | None = Field(None, description="Joined between since and until.")
    left: int | None = Field(None, description="Left between since and until.")
    items: list[SpellOut]


class FreezeIn(StrictIn):
    name: str = Field(..., max_length=100)


class CustomerSegmentOut(Schema):
    id: int
    name: str
    kind: str
    since: datetime
    rule: str


class CustomerSegmentsOut(Schema):
    segments: list[CustomerSegmentOut]
    behaviour_tags: list[CustomerSegmentOut]
    tier: "CustomerTierOut | None" = None
    churn_warning: "ChurnWarningOut | None" = None


class HistoryParams(QueryIn):
    since: date | None = None
    until: date | None = None


class CustomerTierOut(Schema):
    tier_id: int
    tier: str
    since: datetime
    basis: Decimal


class ChurnReasonOut(Schema):
    rule: str
    text: str
    details: dict[str, Any]


class ChurnWarningOut(Schema):
    id: int
    customer_id: int
    customer_name: str
    owner: str | None
    status: str
    opened_at: datetime
    closed_at: datetime | None
    reasons: list[ChurnReasonOut]
    p_alive: float | None
    last_order_at: datetime | None
    spend_recent: Decimal
    spend_before: Decimal
    value_at_risk: Decimal
    task_id: int | None


class ChurnWarningPage(PageOut):
    items: list[ChurnWarningOut]


class WinbackMonthOut(Schema):
    month: str
    at_risk: int
    won_back: int
    rate: float | None


class LifecycleSettingsOut(Schema):
    enabled: bool
    at_risk_days: int
    at_risk_p_alive: float | None
    churned_days: int
    spend_drop: float
    alert_owner: bool
    winback_task: bool
    task_due_days: int
    last_run_on: date | None


class LifecycleSettingsPatch(StrictIn):
    enabled: bool | None = None
    at_risk_days: int | None = None
    at_risk_p_alive: float | None = None
    churned_days: int | None = None
    spend_drop: float | None = None
    alert_owner: bool | None = None
    winback_task: bool | None = None
    task_due_days: int | None = None


class TierOut(Schema):
    id: int
    name: str
    name_en: str
    rank: int
    min_value: Decimal | None
    top_share: float | None
    benefits: str
    members: int = Field(description="Customers in the tier that you may see.")


class EvaluationOut(Schema):
    id: int
    kind: str
    at: datetime
    metric: str
    method: str
    cuts: dict[str, float | None]
    customers: int
    moved: int
    up: int
    down: int
    summary: list[dict[str, Any]]
    ms: int


class TierMoveOut(Schema):
    customer_id: int
    customer_name: str
    from_tier: str | None
    to_tier: str | None
    at: datetime
    basis: Decimal
    previous_basis: Decimal | None
    reason: str


class TierMovePage(PageOut):
    items: list[TierMoveOut]


class ClusterIn(StrictIn):
    k: int | None = Field(None, ge=2, le=12, description="Clusters; empty: suggested.")


class ClusterRunOut(Schema):
    id: int
    status: str
    k: int | None
    customers: int
    scores: dict[str, float]
    clusters: list[dict[str, Any]]
    error: str
    created_at: datetime
    finished_at: datetime | None


CustomerSegmentsOut.model_rebuild()
