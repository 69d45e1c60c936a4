"""Per-customer order figures over time windows, kept between refreshes (`OrderWindow`).

"Two or more orders in the last 90 days" asks for every customer's orders of the window,
grouped: at a million customers that is seconds of work, too slow for a count that follows
the rules as they are typed. A refresh of several segments groups each window once anyway
(segments.shared); these tables keep that work.

- **Built** by a refresh, as of its time T: per customer, the revenue and refunded orders
  placed since T − days (n, s, a, last_at, first_at, n_all, refunded).
- **Kept** by every write of orders: `windows_follow(customer_ids)` works the rows of those
  customers out again (as of the same T − days), in the write's transaction.
- **Read** at a later time t: the orders placed between T − days and t − days have left the
  window since T; they are grouped (a few hours of orders) and taken off. So the figures
  are exact at any time, not as of the last refresh. (`first_at` cannot be corrected that
  way; a window with orders gone is not read for it.)
- **Replaced** by the next refresh: a new table is filled from a reading of the orders,
  then, under a lock the order writes also take, the customers whose orders changed while
  it was filled (`OrderWindowTouch`) are worked out again and the new table takes the old
  one's place.
"""

from __future__ import annotations

import datetime as dt
import uuid

from django.db import connection, transaction
from django.utils import timezone

from guanxi.orders.choices import REVENUE_STATUSES

from .models import OrderWindow, OrderWindowTouch
from .shared import adapt_time, order_index

COLUMNS = "customer_id, n, s, a, last_at, first_at, n_all, refunded"
# How long an order write may run: a window being built also works out again the customers
# whose orders changed this long before it began reading the orders.
WRITE_MARGIN = dt.timedelta(minutes=5)


def figures_select(
    *, start: dt.datetime | None, channel: str | None, customers=None, until=None, hint=""
) -> tuple[str, list]:
    """Per customer, of revenue orders placed from `start` (None: ever) up to `until`: n, s
    (sum), a (average), last_at, first_at; and of revenue and refunded orders: n_all,
    refunded. A customer with only refunded orders has n = 0 (and no sum, average or
    times)."""
    revenue = [str(s) for s in REVENUE_STATUSES]
    statuses = [*revenue, "refunded"]
    where = [f"status IN ({', '.join(['%s'] * len(statuses))})"]
    params: list = list(statuses)
    if start is not None:
        where.append("ordered_at >= %s")
        params.append(adapt_time(start))
    if until is not None:
        where.append("ordered_at < %s")
        params.append(adapt_time(until))
    if channel:
        where.append("channel = %s")
        params.append(channel)
    if customers is not None:
        where.append(f"customer_id IN ({', '.join(['%s'] * len(customers))})")
        params.extend(customers)
    rev = f"status IN ({', '.join(['%s'] * len(revenue))})"
    sql = (
        f"SELECT customer_id, SUM(CASE WHEN {rev} THEN 1 ELSE 0 END) AS n, "
        f"SUM(CASE WHEN {rev} THEN total END) AS s, AVG(CASE WHEN {rev} THEN total END) AS a, "
        f"MAX(CASE WHEN {rev} THEN ordered_at END) AS last_at, "
        f"MIN(CASE WHEN {rev} THEN ordered_at END) AS first_at, COUNT(*) AS n_all, "
        "SUM(CASE WHEN status = 'refunded' THEN 1 ELSE 0 END) AS refunded "
        f"FROM orders_order{hint} WHERE {' AND '.join(where)} GROUP BY customer_id"
    )
    return sql, [*(revenue * 5), *params]


def _start(window_days, as_of):
    return None if window_days is None else as_of - dt.timedelta(days=window_days)


def _fill(table: str, window: OrderWindow | None, *, days, channel, as_of, customers) -> None:
    """Work the rows of `customers` out again in `table` (as of `as_of`)."""
    with connection.cursor() as cur:
        for i in range(0, len(customers), 500):
            part = customers[i : i + 500]
            marks = ", ".join(["%s"] * len(part))
            cur.execute(f"DELETE FROM {table} WHERE customer_id IN ({marks})", part)  # noqa: S608
            sql, params = figures_select(
                start=_start(days, as_of), channel=channel or None, customers=part
            )
            cur.execute(f"INSERT INTO {table} ({COLUMNS}) {sql}", params)  # noqa: S608


def _lock_windows() -> list[OrderWindow]:
    """The stored windows, locked against being replaced until this transaction ends (order
    writes hold them shared; a replacement waits for those writes, and they for it)."""
    if connection.vendor == "postgresql":
        return list(OrderWindow.objects.raw("SELECT * FROM segments_orderwindow FOR SHARE"))
    return list(OrderWindow.objects.all())  # SQLite: one writer at a time


def windows_follow(customer_ids) -> None:
    """After orders of these customers changed: their rows in every stored window, worked
    out again, and a note that they changed (for a window being built meanwhile). In the
    transaction of the change."""
    ids = sorted(set(customer_ids))
    if not ids:
        return
    with transaction.atomic():
        windows = _lock_windows()
        if not windows:
            return
        now = timezone.now()
        OrderWindowTouch.objects.bulk_create(
            [OrderWindowTouch(customer_id=c, at=now) for c in ids], batch_size=1000
        )
        for w in windows:
            _fill(w.table, w, days=w.days, channel=w.channel, as_of=w.as_of, customers=ids)


def window_build(*, days: int | None, channel: str = "", now: dt.datetime) -> OrderWindow:
    """Build the window's table as of `now` and put it in place of the old one."""
    channel = channel or ""
    began = timezone.now()
    table = f"segments_window_{uuid.uuid4().hex[:12]}"
    hint = f' INDEXED BY "{order_index(days)}"' if connection.vendor == "sqlite" else ""
    sql, params = figures_select(start=_start(days, now), channel=channel or None, hint=hint)
    with connection.cursor() as cur:
        cur.execute(f"CREATE TABLE {table} AS {sql}", params)  # noqa: S608
        cur.execute(f"CREATE UNIQUE INDEX {table}_c ON {table} (customer_id)")
        if connection.vendor == "postgresql":
            cur.execute(f"ANALYZE {table}")
    with transaction.atomic():
        found = OrderWindow.objects.select_for_update().filter(days=days, channel=channel).first()
        touched = sorted(
            set(
                OrderWindowTouch.objects.filter(at__gte=began - WRITE_MARGIN).values_list(
                    "customer_id", flat=True
                )
            )
        )
        _fill(table, None, days=days, channel=channel, as_of=now, customers=touched)
        with connection.cursor() as cur:
            cur.execute(f"SELECT COUNT(*) FROM {table}")  # noqa: S608
            rows = cur.fetchone()[0]
            if found is not None:
                cur.execute(f"DROP TABLE IF EXISTS {found.table}")
        built_ms = int((timezone.now() - began).total_seconds() * 1000)
        if found is None:
            found = OrderWindow(days=days, channel=channel)
        found.table, found.as_of, found.rows, found.built_ms = table, now, rows, built_ms
        found.save()
    OrderWindowTouch.objects.filter(at__lt=timezone.now() - dt.timedelta(days=1)).delete()
    return found


def windows_drop(*, keep=()) -> None:
    """Drop the stored windows but those whose (days, channel) is in `keep`."""
    keep = {(d, c or "") for d, c in keep}
    with transaction.atomic():
        for w in OrderWindow.objects.select_for_update():
            if (w.days, w.channel) not in keep:
                with connection.cursor() as cur:
                    cur.execute(f"DROP TABLE IF EXISTS {w.table}")
                w.delete()


class StoredWindows:
    """The stored windows read at a time `now` (for the live count): `orders(days, channel)`
    is a FROM clause with the figures exact at `now`, or None when that window is not
    stored (the condition then reads the orders)."""

    has_lines = False  # order lines are read from the orders

    def __init__(self, now: dt.datetime):
        self.now = now
        self.windows = {(w.days, w.channel): w for w in OrderWindow.objects.all()}

    def orders(self, days: int | None, channel: str | None, *, first_at=False):
        w = self.windows.get((days, channel or ""))
        if w is None or (days is not None and w.as_of > self.now):
            return None
        if days is None or w.as_of == self.now:
            return w.table
        if first_at:
            return None  # the earliest order left may be one that has gone
        gone, params = figures_select(
            start=w.as_of - dt.timedelta(days=days),
            until=self.now - dt.timedelta(days=days),
            channel=channel,
        )
        n = "(w.n - COALESCE(x.n, 0))"
        s = "(w.s - COALESCE(x.s, 0))"
        sql = (
            f"(SELECT w.customer_id AS customer_id, {n} AS n, "
            f"CASE WHEN {n} > 0 THEN {s} END AS s, "
            f"CASE WHEN {n} > 0 THEN 1.0 * {s} / {n} END AS a, "
            f"CASE WHEN {n} > 0 THEN w.last_at END AS last_at, w.first_at AS first_at, "
            "w.n_all - COALESCE(x.n_all, 0) AS n_all, "
            "w.refunded - COALESCE(x.refunded, 0) AS refunded "
            f"FROM {w.table} w LEFT JOIN ({gone}) x ON x.customer_id = w.customer_id) win"
        )
        return sql, params

    def refunds(self, days):
        return self.orders(days, None)
