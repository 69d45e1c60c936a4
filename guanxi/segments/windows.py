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
from .shared import keyed_orders, order_index, revenue_where, set_work_mem

COLUMNS = "customer_id, n, s, a, last_at, first_at, n_all, refunded, lines, disc"
# How long an order write may run: a window being built also works out again the customers
# whose orders changed this long before it began reading the orders.
WRITE_MARGIN = dt.timedelta(minutes=5)
# A refresh reads a stored window younger than this (taking off the orders gone since) and
# builds the others again; the daily rebuild (`windows_rebuild`) keeps them younger.
MAX_AGE = dt.timedelta(hours=26)


def figures_select(
    *, start: dt.datetime | None, channel: str | None, customers=None, until=None, hint=""
) -> tuple[str, list]:
    """Per customer, of revenue orders placed from `start` (None: ever) up to `until`: n, s
    (sum), a (average), last_at, first_at; and of revenue and refunded orders: n_all,
    refunded. A customer with only refunded orders has n = 0 (and no sum, average or
    times)."""
    revenue = [str(s) for s in REVENUE_STATUSES]
    where, params = revenue_where("", start=start, until=until, channel=channel,
                                   customers=customers)  # fmt: skip
    where[0] = f"status IN ({', '.join(['%s'] * (len(revenue) + 1))})"
    params.insert(len(revenue), "refunded")
    rev = f"status IN ({', '.join(['%s'] * len(revenue))})"
    sql = (
        f"SELECT customer_id, SUM(CASE WHEN {rev} THEN 1 ELSE 0 END) AS n, "
        f"SUM(CASE WHEN {rev} THEN total END) AS s, AVG(CASE WHEN {rev} THEN total END) AS a, "
        f"MAX(CASE WHEN {rev} THEN ordered_at END) AS last_at, "
        f"MIN(CASE WHEN {rev} THEN ordered_at END) AS first_at, COUNT(*) AS n_all, "
        "SUM(CASE WHEN status = 'refunded' THEN 1 ELSE 0 END) AS refunded, "
        "CAST(NULL AS INTEGER) AS lines, CAST(NULL AS INTEGER) AS disc "
        f"FROM orders_order{hint} WHERE {' AND '.join(where)} GROUP BY customer_id"
    )
    return sql, [*(revenue * 5), *params]


DISC = "SUM(CASE WHEN l.discount > 0 THEN 1 ELSE 0 END)"


def lines_select(*, start, channel, customers=None, until=None, hint="") -> tuple[str, list]:
    """Per customer, of the lines of revenue orders placed from `start` up to `until`:
    lines, disc (discounted lines)."""
    where, params = revenue_where("o", start=start, until=until, channel=channel,
                                   customers=customers)  # fmt: skip
    sql = (
        f"SELECT o.customer_id AS customer_id, COUNT(*) AS lines, {DISC} AS disc "
        f"FROM orders_order o{hint} JOIN orders_orderline l ON l.order_id = o.id "
        f"WHERE {' AND '.join(where)} GROUP BY o.customer_id"
    )
    return sql, params


def _start(window_days, as_of):
    return None if window_days is None else as_of - dt.timedelta(days=window_days)


def _fill(table: str, *, days, channel, as_of, customers, lines: bool) -> None:
    """Work the rows of `customers` out again in `table` (as of `as_of`)."""
    start = _start(days, as_of)
    with connection.cursor() as cur:
        for i in range(0, len(customers), 500):
            part = customers[i : i + 500]
            marks = ", ".join(["%s"] * len(part))
            cur.execute(f"DELETE FROM {table} WHERE customer_id IN ({marks})", part)  # noqa: S608
            sql, params = figures_select(start=start, channel=channel or None, customers=part)
            cur.execute(f"INSERT INTO {table} ({COLUMNS}) {sql}", params)  # noqa: S608
            if lines:
                sql, params = lines_select(start=start, channel=channel or None, customers=part)
                _set_lines(cur, table, sql, params)


def _set_lines(cur, table: str, sql: str, params: list) -> None:
    cur.execute(
        f"UPDATE {table} SET lines = x.lines, disc = x.disc FROM ({sql}) x "  # noqa: S608
        f"WHERE x.customer_id = {table}.customer_id",
        params,
    )


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
            _fill(w.table, days=w.days, channel=w.channel, as_of=w.as_of, customers=ids,
                  lines=w.lines)  # fmt: skip


def _touched_since(began) -> list[int]:
    return sorted(
        set(
            OrderWindowTouch.objects.filter(at__gte=began - WRITE_MARGIN).values_list(
                "customer_id", flat=True
            )
        )
    )


def _line_figures(cur, table: str, *, days, start, channel) -> None:
    """Fill `table`'s lines and disc for every customer from the order lines."""
    if connection.vendor == "sqlite":
        keyed = f"{table}_orders"
        where, params = revenue_where(start=start, channel=channel)
        keyed_orders(cur, keyed, where, params, index=order_index(days))
        sql = (
            f"SELECT o.customer_id AS customer_id, COUNT(*) AS lines, {DISC} AS disc "
            f"FROM orders_orderline l CROSS JOIN {keyed} o ON o.id = l.order_id "
            "GROUP BY o.customer_id"
        )
        _set_lines(cur, table, sql, [])
        cur.execute(f"DROP TABLE {keyed}")
    else:
        sql, params = lines_select(start=start, channel=channel)
        _set_lines(cur, table, sql, params)


def window_build(
    *, days: int | None, channel: str = "", now: dt.datetime, lines: bool = False
) -> OrderWindow:
    """Build the window's table as of `now` (with `lines`, the line figures too) and put it
    in place of the old one."""
    channel = channel or ""
    began = timezone.now()
    table = f"segments_window_{uuid.uuid4().hex[:12]}"
    hint = f' INDEXED BY "{order_index(days)}"' if connection.vendor == "sqlite" else ""
    start = _start(days, now)
    sql, params = figures_select(start=start, channel=channel or None, hint=hint)
    with transaction.atomic(), connection.cursor() as cur:
        set_work_mem(cur)
        cur.execute(f"CREATE TABLE {table} AS {sql}", params)  # noqa: S608
        cur.execute(f"CREATE UNIQUE INDEX {table}_c ON {table} (customer_id)")
        if lines:
            _line_figures(cur, table, days=days, start=start, channel=channel or None)
        if connection.vendor == "postgresql":
            cur.execute(f"ANALYZE {table}")
    with transaction.atomic():
        found = OrderWindow.objects.select_for_update().filter(days=days, channel=channel).first()
        _fill(table, days=days, channel=channel, as_of=now, customers=_touched_since(began),
              lines=lines)  # fmt: skip
        with connection.cursor() as cur:
            cur.execute(f"SELECT COUNT(*) FROM {table}")  # noqa: S608
            rows = cur.fetchone()[0]
            if found is not None:
                cur.execute(f"DROP TABLE IF EXISTS {found.table}")
        built_ms = int((timezone.now() - began).total_seconds() * 1000)
        if found is None:
            found = OrderWindow(days=days, channel=channel)
        found.table, found.as_of, found.rows, found.built_ms = table, now, rows, built_ms
        found.lines = lines
        found.save()
    OrderWindowTouch.objects.filter(at__lt=timezone.now() - dt.timedelta(days=1)).delete()
    return found


def window_for(*, days: int | None, channel: str = "", now: dt.datetime, lines=False):
    """The stored window a refresh at `now` reads: the kept one if it is young enough (and
    has the line figures when asked), else one built now."""
    channel = channel or ""
    w = OrderWindow.objects.filter(days=days, channel=channel).first()
    if w is not None and now - MAX_AGE <= w.as_of <= now:
        return window_add_lines(w) if lines and not w.lines else w
    return window_build(days=days, channel=channel, now=now, lines=lines or bool(w and w.lines))


def window_add_lines(w: OrderWindow) -> OrderWindow:
    """Give a kept window its line figures, in place (its table stays: queries already made
    may read it)."""
    began = timezone.now()
    start = _start(w.days, w.as_of)
    with transaction.atomic(), connection.cursor() as cur:
        set_work_mem(cur)
        _line_figures(cur, w.table, days=w.days, start=start, channel=w.channel or None)
    with transaction.atomic():
        w = OrderWindow.objects.select_for_update().get(pk=w.pk)
        _fill(w.table, days=w.days, channel=w.channel, as_of=w.as_of,
              customers=_touched_since(began), lines=True)  # fmt: skip
        w.lines = True
        w.save(update_fields=["lines"])
    return w


def windows_rebuild(now=None) -> int:
    """Build every stored window again as of now (daily: the orders taken off when one is
    read stay a day's worth)."""
    now = now or timezone.now()
    windows = list(OrderWindow.objects.all())
    for w in windows:
        window_build(days=w.days, channel=w.channel, now=now, lines=w.lines)
    return len(windows)


def windows_drop(*, keep=()) -> None:
    """Drop the stored windows but those whose (days, channel) is in `keep`."""
    keep = {(d, c or "") for d, c in keep}
    with transaction.atomic():
        for w in OrderWindow.objects.select_for_update():
            if (w.days, w.channel) not in keep:
                with connection.cursor() as cur:
                    cur.execute(f"DROP TABLE IF EXISTS {w.table}")
                w.delete()


def window_read(w: OrderWindow, now: dt.datetime, *, first_at=False):
    """The window's figures exact at `now`, as a FROM clause (a table name, or SQL with its
    parameters); None if they cannot be (`first_at` once orders have left the window)."""
    sqlite = connection.vendor == "sqlite"
    if w.days is None or w.as_of == now:
        return f"{w.table} NOT INDEXED" if sqlite else w.table
    if first_at:
        return None  # the earliest order left may be one that has gone
    start, until = w.as_of - dt.timedelta(days=w.days), now - dt.timedelta(days=w.days)
    hint = ' INDEXED BY "order_at_cover"' if sqlite else ""  # a few hours of orders
    gone, params = figures_select(start=start, until=until, channel=w.channel or None, hint=hint)
    n = "(w.n - COALESCE(x.n, 0))"
    s = "(w.s - COALESCE(x.s, 0))"
    lines = "CAST(NULL AS INTEGER) AS lines, CAST(NULL AS INTEGER) AS disc"
    joins = f"LEFT JOIN ({gone}) x ON x.customer_id = w.customer_id"
    if w.lines:
        gone_lines, more = lines_select(
            start=start, until=until, channel=w.channel or None, hint=hint
        )
        lines = "w.lines - COALESCE(y.lines, 0) AS lines, w.disc - COALESCE(y.disc, 0) AS disc"
        joins += f" LEFT JOIN ({gone_lines}) y ON y.customer_id = w.customer_id"
        params = [*params, *more]
    sql = (
        f"(SELECT w.customer_id AS customer_id, {n} AS n, "
        f"CASE WHEN {n} > 0 THEN {s} END AS s, "
        f"CASE WHEN {n} > 0 THEN 1.0 * {s} / {n} END AS a, "
        f"CASE WHEN {n} > 0 THEN w.last_at END AS last_at, w.first_at AS first_at, "
        "w.n_all - COALESCE(x.n_all, 0) AS n_all, "
        f"w.refunded - COALESCE(x.refunded, 0) AS refunded, {lines} "
        f"FROM {w.table} w{' NOT INDEXED' if sqlite else ''} {joins}) win"
    )
    return sql, params


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
        return window_read(w, self.now, first_at=first_at)

    def refunds(self, days):
        return self.orders(days, None)

    def line_totals(self, days):
        w = self.windows.get((days, ""))
        return self.orders(days, None) if w is not None and w.lines else None
