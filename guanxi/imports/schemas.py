from datetime import date, datetime
from typing import Any

from ninja import Schema
from pydantic import Field

from guanxi.core.api import PageOut, StrictIn


class FieldOut(Schema):
    key: str
    label: str
    required: bool
    multi: bool


class ColumnOut(Schema):
    position: int
    header: str
    field: str | None
    sample: list[str]


class ProgressOut(Schema):
    state: str = Field(
        description="analysed, queued, running, interrupted, completed, failed, undone"
    )
    rows_done: int
    rows_total: int
    percent: int
    counts: dict[str, Any]


class ImportOut(Schema):
    id: int
    kind: str
    status: str
    file_name: str
    file_format: str
    file_size: int
    encoding: str
    delimiter: str
    sheet: str
    rows_total: int | None
    headers: list[str]
    mapping: dict[str, str] = Field(description="Column position → field key.")
    mode: str
    on_duplicate: str
    resumable: bool
    dry_run: bool
    counts: dict[str, Any]
    error: str
    progress: ProgressOut
    created_by: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    undone_at: datetime | None


class ImportPage(PageOut):
    items: list[ImportOut]


class ImportPatch(StrictIn):
    mapping: dict[str, str] | None = Field(
        None, description='Column (position or header text) → field key; "" leaves it out.'
    )
    mode: str | None = None
    on_duplicate: str | None = None
    resumable: bool | None = None
    save_mapping_as: str = Field("", max_length=100)


class IssueOut(Schema):
    row: int
    column: str
    field: str
    value: str
    message: str
    severity: str


class IssuePage(PageOut):
    items: list[IssueOut]


class PreviewRowOut(Schema):
    row: int
    values: dict[str, str]
    issues: list[IssueOut]
    outcome: dict[str, Any] = Field(
        description='What would happen: {"action": "created" | "merged" | "updated" | "review" | '
        '"skipped" | "failed", "customer": id of a stored customer, "same_as_row": n}.'
    )


class PreviewOut(Schema):
    missing: list[str] = Field(description="Required fields no column is mapped to.")
    columns: list[ColumnOut]
    rows: list[PreviewRowOut]


class SavedMappingOut(Schema):
    id: int
    kind: str
    name: str
    columns: dict[str, str]


class CustomerBrief(Schema):
    id: int
    name: str
    kind: str
    company_name: str
    birthday: date | None
    phones: list[str]
    emails: list[str]
    owner: str | None

    @staticmethod
    def resolve_phones(obj):
        return [p.number for p in obj.phones.all()]

    @staticmethod
    def resolve_emails(obj):
        return [e.email for e in obj.emails.all()]

    @staticmethod
    def resolve_owner(obj):
        return obj.owner.username if obj.owner else None


class ReviewOut(Schema):
    id: int
    status: str
    score: float = Field(description="The probability that these are one customer (0–1).")
    source: str
    explanation: list[dict[str, Any]]
    job: int | None = Field(None, alias="job_id")
    created_at: datetime
    customer: CustomerBrief
    other: CustomerBrief


class ReviewPage(PageOut):
    items: list[ReviewOut]


class MergeIn(StrictIn):
    keep: str = Field("customer", description='Which survives: "customer" or "other".')
    choose: dict[str, str] = Field(
        {}, description='Field → "survivor" or "other": whose value is kept (default survivor).'
    )


class CustomerMergeIn(StrictIn):
    other: int = Field(ge=1, description="The customer to merge into this one (it goes away).")
    choose: dict[str, str] = {}


class MergeOut(Schema):
    id: int
    survivor: int | None = Field(None, alias="survivor_id")
    merged_id: int
    merged_name: str
    found_by: str
    at: datetime
    undone_at: datetime | None
    by: str | None

    @staticmethod
    def resolve_by(obj):
        return obj.actor.username if obj.actor else None


class MergePage(PageOut):
    items: list[MergeOut]
