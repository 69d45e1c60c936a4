from datetime import datetime
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
