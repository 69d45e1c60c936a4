"""JSON shapes of segments, their members and history."""

from datetime import date, datetime
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
    kind: SegmentKind = SegmentKind.DYNAMIC
    purpose: SegmentPurpose = SegmentPurpose.SEGMENT
    definition: dict[str, Any] | None = Field(None, description=DEFINITION_HELP)


class SegmentPatch(StrictIn):
    name: str | None = Field(None, max_length=100)
    name_en: str | None = Field(None, max_length=100)
    description: str | None = Field(None, max_length=2000)
    definition: dict[str, Any] | None = Field(None, description=DEFINITION_HELP)
    is_active: bool | None = None


class SegmentOut(Schema):
    id: int
    name: str
    name_en: str
    description: str
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


class HistoryParams(QueryIn):
    since: date | None = None
    until: date | None = None
