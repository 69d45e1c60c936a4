"""Bounded limit/offset pagination for API lists."""

from django.conf import settings
from ninja import Schema
from pydantic import Field

MAX_OFFSET = 10_000_000
# How many matching ids a newest-first search reads before deciding how to fetch its page.
PROBE = 2000


class PageParams(Schema):
    limit: int = Field(50, ge=1, le=settings.GUANXI_API_MAX_LIMIT)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)


def paginate(
    queryset, page: PageParams, *, count: bool = True, count_limit=None, newest_first=False
) -> dict:
    """Slice a queryset; `count` is the total matching rows (None when not asked for).

    With `count_limit`, counting stops there: a search matching a third of a million
    customers answers `count` = count_limit and `count_exact` = false instead of spending
    its time counting. A short last page needs no count query at all.

    `newest_first` (with `count_limit`) is for searches ordered by descending id: see
    `_paginate_probed`.
    """
    if newest_first and count and count_limit is not None:
        return _paginate_probed(queryset, page, count_limit=count_limit)
    items = list(queryset[page.offset : page.offset + page.limit])
    total, exact = None, True
    if count:
        if len(items) < page.limit and (items or not page.offset):
            total = page.offset + len(items)
        elif count_limit is not None:
            # Unordered, so the database may count the matches in whatever order is cheapest.
            total = queryset.order_by()[: count_limit + 1].count()
            if total > count_limit:
                total, exact = count_limit, False
        else:
            total = queryset.count()
    return _page(page, items, total, exact)


def _paginate_probed(queryset, page: PageParams, *, count_limit: int) -> dict:
    """A newest-first page of a search, read in a way that does not depend on the planner.

    "ORDER BY id DESC LIMIT 50" has two good plans: collect the matches from the search
    index and sort them (cheap when they are few) or walk the primary key backwards until
    fifty rows match (cheap when they are many). A planner that misjudges how many rows
    match picks the wrong one, and a rare name then costs a walk over most of the table.
    So first read up to PROBE matching ids in whatever order is cheapest: if that is all of
    them, the page is sorted here and fetched by id, and the count is exact for free; if
    not, the matches are dense enough for the backward walk to find a page quickly.
    """
    probe = max(PROBE, count_limit)
    ids = list(queryset.order_by().values_list("pk", flat=True)[: probe + 1])
    if len(ids) > probe:
        items = list(queryset[page.offset : page.offset + page.limit])
    else:
        ids.sort(reverse=True)
        wanted = ids[page.offset : page.offset + page.limit]
        rows = {row.pk: row for row in queryset.filter(pk__in=wanted)} if wanted else {}
        items = [rows[pk] for pk in wanted if pk in rows]
    total = len(ids)
    if total > count_limit:
        return _page(page, items, count_limit, False)
    return _page(page, items, total, True)


def _page(page: PageParams, items: list, total, exact: bool) -> dict:
    return {
        "count": total,
        "count_exact": exact,
        "limit": page.limit,
        "offset": page.offset,
        "items": items,
    }
