from datetime import date, datetime

from ninja import Field, Schema

from guanxi.core.api import PageOut, StrictIn


class InteractionIn(StrictIn):
    customer: int
    kind: str
    direction: str = "outbound"
    channel: str = ""
    subject: str
    body: str = ""
    outcome: str = ""
    next_step: str = ""
    occurred_at: datetime | None = None
    contact: int | None = None


class InteractionPatch(StrictIn):
    kind: str | None = None
    direction: str | None = None
    channel: str | None = None
    subject: str | None = None
    body: str | None = None
    outcome: str | None = None
    next_step: str | None = None
    occurred_at: datetime | None = None
    contact: int | None = None


class InteractionOut(Schema):
    id: int
    customer: int = Field(..., alias="customer_id")
    contact: int | None = Field(None, alias="contact_id")
    kind: str
    direction: str
    channel: str
    subject: str
    body: str
    outcome: str
    next_step: str
    occurred_at: datetime
    user: int | None = Field(None, alias="user_id")
    created_at: datetime


class InteractionPage(PageOut):
    items: list[InteractionOut]


class InteractionFilters(Schema):
    customer: int | None = None
    kind: str | None = None
    channel: str | None = None
    q: str | None = Field(None, max_length=200)
    after: date | None = None
    before: date | None = None


class TaskIn(StrictIn):
    customer: int | None = None
    title: str
    description: str = ""
    owner: int | None = None
    due_at: datetime | None = None
    remind_at: datetime | None = None
    priority: str = "normal"


class TaskPatch(StrictIn):
    title: str | None = None
    description: str | None = None
    owner: int | None = None
    due_at: datetime | None = None
    remind_at: datetime | None = None
    priority: str | None = None
    status: str | None = None


class TaskOut(Schema):
    id: int
    customer: int | None = Field(None, alias="customer_id")
    title: str
    description: str
    owner: int = Field(..., alias="owner_id")
    created_by: int | None = Field(None, alias="created_by_id")
    due_at: datetime | None
    remind_at: datetime | None
    priority: str
    status: str
    completed_at: datetime | None
    created_at: datetime


class TaskPage(PageOut):
    items: list[TaskOut]
