from datetime import datetime

from ninja import Schema
from pydantic import Field

from guanxi.core.api import PageOut, QueryIn


class NotificationFilters(QueryIn):
    unread: bool = Field(False, description="true: only the unread ones.")


class NotificationOut(Schema):
    id: int
    kind: str
    title: str = Field(description="In the language of the request.")
    body: str = Field(description="In the language of the request; may be empty.")
    url: str = Field(description="A path inside Guanxi (e.g. a customer's 360° page), or empty.")
    customer_id: int | None
    created_at: datetime
    read_at: datetime | None
    emailed_at: datetime | None

    @staticmethod
    def resolve_title(obj) -> str:
        return obj.title_text

    @staticmethod
    def resolve_body(obj) -> str:
        return obj.body_text


class NotificationPage(PageOut):
    items: list[NotificationOut]


class UnreadCountOut(Schema):
    count: int


class MarkedOut(Schema):
    marked: int = Field(description="How many notifications were marked read now.")
