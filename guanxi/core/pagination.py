"""Bounded limit/offset pagination for API lists."""

from django.conf import settings
from ninja import Schema
from pydantic import Field

MAX_OFFSET = 10_000_000


class PageParams(Schema):
    limit: int = Field(50, ge=1, le=settings.GUANXI_API_MAX_LIMIT)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)


def paginate(queryset, page: PageParams, *, count: bool = True) -> dict:
    """Slice a queryset; `count` is the total matching rows (None when not asked for)."""
    items = list(queryset[page.offset : page.offset + page.limit])
    total = queryset.count() if count else None
    return {"count": total, "limit": page.limit, "offset": page.offset, "items": items}
