"""Bounded limit/offset pagination for API lists."""

from django.conf import settings
from ninja import Schema
from pydantic import Field

MAX_OFFSET = 10_000_000


class PageParams(Schema):
    limit: int = Field(50, ge=1, le=settings.GUANXI_API_MAX_LIMIT)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)


def paginate(queryset, page: PageParams, *, count: bool = True, count_limit=None) -> dict:
    """Slice a queryset; `count` is the total matching rows (None when not asked for).

    With `count_limit`, counting stops there: a search matching a third of a million
    customers answers `count` = count_limit and `count_exact` = false instead of spending
    its time counting. A short last page needs no count query at all.
    """
    items = list(queryset[page.offset : page.offset + page.limit])
    total, exact = None, True
    if count:
        if len(items) < page.limit and (items or not page.offset):
            total = page.offset + len(items)
        elif count_limit is not None:
            total = queryset[: count_limit + 1].count()
            if total > count_limit:
                total, exact = count_limit, False
        else:
            total = queryset.count()
    return {
        "count": total,
        "count_exact": exact,
        "limit": page.limit,
        "offset": page.offset,
        "items": items,
    }
