from datetime import date, datetime

from ninja import Field, Schema

from guanxi.core.api import Id, PageOut, QueryIn, StrictIn, When

from .choices import Channel, InteractionKind, TaskStatus


class InteractionIn(StrictIn):
    customer: Id
    kind: str
    direction: str = "outbound"
    channel: str = ""
    subject: str
    body: str = ""
    outcome: str = ""
    next_step: str = ""
    occurred_at: When | None = None
    contact: Id | None = None


class InteractionPatch(StrictIn):
    kind: str | None = None
    direction: str | None = None
    channel: str | None = None
    subject: str | None = None
    body: str | None = None
    outcome: str | None = None
    next_step: str | None = None
    occurred_at: When | None = None
    contact: Id | None = None


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


class InteractionFilters(QueryIn):
    customer: Id | None = None
    kind: InteractionKind | None = None
    channel: Channel | None = None
    q: str | None = Field(None, max_length=200)
    after: date | None = None
    before: date | None = None


class TaskIn(StrictIn):
    customer: Id | None = None
    title: str
    description: str = ""
    owner: Id | None = None
    due_at: When | None = None
    remind_at: When | None = None
    priority: str = "normal"


class TaskPatch(StrictIn):
    title: str | None = None
    description: str | None = None
    owner: Id | None = None
    due_at: When | None = None
    remind_at: When | None = None
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


class TaskFilters(QueryIn):
    customer: Id | None = None
    status: TaskStatus | None = None
    owner: str | None = Field(None, pattern=r"^(me|[0-9]{1,18})$", description='"me" or a user id.')
