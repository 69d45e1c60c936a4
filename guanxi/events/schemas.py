from datetime import datetime
from typing import Any

from ninja import Schema
from pydantic import Field

from guanxi.core.api import MAX_ID, PageOut, QueryIn, When


class EventFilters(QueryIn):
    customer: int | None = Field(None, ge=1, le=MAX_ID)
    channel: str | None = Field(None, max_length=20)
    kind: str | None = Field(None, max_length=40)
    after: When | None = None
    before: When | None = None


class EventOut(Schema):
    id: int
    customer: int = Field(alias="customer_id")
    channel: str
    kind: str
    occurred_at: datetime
    received_at: datetime
    idempotency_key: str | None
    identifiers: dict[str, Any]
    payload: dict[str, Any]


class EventPage(PageOut):
    items: list[EventOut]


class IngestLine(Schema):
    line: int
    id: int | None = None
    customer: int | None = None
    duplicate: bool = False


class IngestError(Schema):
    line: int
    errors: dict[str, list[str]]


class IngestOut(Schema):
    accepted: int = Field(description="Events stored now.")
    duplicates: int = Field(description="Events recognised by their idempotency key.")
    created_customers: int = Field(description="Leads created for people nobody knew.")
    merged_customers: int = Field(description="Customers found to be one person and merged.")
    events: list[IngestLine]
    errors: list[IngestError] = Field(description="Events refused, by line, with why.")
