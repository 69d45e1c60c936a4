"""Per-customer order aggregates computed once and shared by the segments refreshed together.

Fifty segments often ask the same questions of the orders: how many, how much, when last,
which products, in the last 30, 90 or 365 days. Refreshed one by one, each would group the
orders of its window again. A refresh of several segments instead builds one table per
window (and sales channel):
- per customer: count, sum, average, last and first order time. These are kept after the
  refresh (segments.windows), so the editor's live count reads them too;
- per customer, the order lines and the discounted lines, in the same kept tables;
- for new products bought soon after launch, temporary tables: one row per line (customer,
  product, when ordered, when launched). They live for the refresh, on its connection, and
  are dropped at the end.

(Categories and products bought are not here: the orders keep them per customer,
`orders.CustomerCategory` and `CustomerProduct`.)
"""

from __future__ import annotations

import datetime as dt
import itertools

from django.db import connection

from guanxi.orders.choices import REVENUE_STATUSES

_names = itertools.count(1)


class SharedAggregates:
    """The tables of one refresh run, made on first use."""

    def __init__(self, now: dt.datetime, *, line_days: int | None = None):
        self.now = now
        # The widest window any segment asks of order lines (None: all time): the lines are
        # joined to their orders once, for it, and narrower windows filter that table.
        self.line_days = line_days
        self.tables: dict[tuple, str] = {}  # temporary, dropped at the end
        self.windows: dict[tuple, object] = {}  # (days, channel): the stored window read

    has_lines = True

    # -- building -----------------------------------------------------------------------------

    def _create(self, key: tuple, select: str, params: list) -> str:
        """A temporary table of `select`'s rows."""
        name = self.tables.get(key)
        if name is None:
            name = f"segments_shared_{next(_names)}"
            with connection.cursor() as cur:
                cur.execute(f"CREATE TEMP TABLE {name} AS {select}", params)  # noqa: S608
                if connection.vendor == "postgresql":
                    # Autovacuum never sees temporary tables: without statistics the planner
                    # takes a million rows for a few and loops over them.
                    cur.execute(f"ANALYZE {name}")
            self.tables[key] = name
        return name

    def _where(self, days: int | None, alias: str = "") -> tuple[list[str], list]:
        start = self.now - dt.timedelta(days=days) if days else None
        return revenue_where(alias, start=start)

    def orders(self, days: int | None, channel: str | None, *, first_at=False):
        """Per customer, of revenue orders: n, s (sum), a (average), last_at, first_at; and of
        revenue and refunded orders: n_all, refunded (segments.windows.figures_select). Read
        from the stored window, built as of this refresh unless one young enough is kept."""
        return self._window(days, channel, first_at=first_at)

    def _window(self, days, channel, *, first_at=False, lines=False):
        from .windows import window_for, window_read

        key = (days, channel or "")
        w = self.windows.get(key)
        if w is None or (lines and not w.lines):
            w = self.windows[key] = window_for(
                days=days, channel=channel or "", now=self.now, lines=lines
            )
        return window_read(w, self.now, first_at=first_at)

    def refunds(self, days: int | None) -> str:
        """customer_id, n_all (revenue and refunded orders), refunded."""
        return self.orders(days, None)

    def lines(self, days: int | None) -> tuple[str, list]:
        """The lines of revenue orders in the window that name a product, as a FROM clause and
        its parameters: customer_id, ordered_at, product_id, launched_at (its creation)."""
        base_days = self.line_days
        if base_days is not None and (days is None or days > base_days):
            base_days = days
        columns = (
            "o.customer_id AS customer_id, o.ordered_at AS ordered_at, "
            "l.product_id AS product_id, p.created_at AS launched_at"
        )
        products = "JOIN orders_product p ON p.id = l.product_id"
        if connection.vendor == "sqlite":
            window = self.tables.get(("window", base_days))
            if window is None:
                window = self.tables[("window", base_days)] = f"segments_shared_{next(_names)}"
                where, params = self._where(base_days)
                with connection.cursor() as cur:
                    keyed_orders(cur, window, where, params, index="order_at_cover")
            select = (
                f"SELECT {columns} FROM orders_orderline l CROSS JOIN {window} o "
                f"ON o.id = l.order_id {products}"
            )
            params = []
        else:
            where, params = self._where(base_days, "o")
            select = (
                f"SELECT {columns} FROM orders_order o JOIN orders_orderline l "
                f"ON l.order_id = o.id {products} WHERE {' AND '.join(where)}"
            )
        base = self._create(("lines", base_days), select, params)
        if days == base_days:
            return base, []
        cutoff = adapt_time(self.now - dt.timedelta(days=days))
        return f"(SELECT * FROM {base} WHERE ordered_at >= %s) w", [cutoff]  # noqa: S608

    def line_totals(self, days: int | None):
        """customer_id, lines, disc (discounted lines): the stored window's line figures."""
        return self._window(days, None, lines=True)

    def new_products(self, days: int | None, launch_days: int) -> str:
        """customer_id, n: products bought within `launch_days` of their launch."""
        source, params = self.lines(days)
        if connection.vendor == "sqlite":
            soon = f"julianday(ordered_at) <= julianday(launched_at) + {int(launch_days)}"
        else:
            soon = f"ordered_at <= launched_at + interval '{int(launch_days)} days'"
        return self._create(
            ("new_products", days, launch_days),
            "SELECT customer_id, COUNT(DISTINCT product_id) AS n "
            f"FROM {source} WHERE product_id IS NOT NULL AND ordered_at >= launched_at "  # noqa: S608
            f"AND {soon} GROUP BY customer_id",
            params,
        )

    def drop(self) -> None:
        with connection.cursor() as cur:
            for name in self.tables.values():
                cur.execute(f"DROP TABLE IF EXISTS {name}")
        self.tables.clear()


# Up to about three months, reading the window from the time index and sorting it by customer
# is quicker; beyond that, reading every order in customer order from the customer index (it
# covers status and total) with no sort. SQLite's planner picks neither by itself.
WIDE_WINDOW_DAYS = 90


def order_index(days: int | None) -> str:
    """The covering index a window of `days` (None: all time) is best read through."""
    return "order_customer_cover" if days is None or days > WIDE_WINDOW_DAYS else "order_at_cover"


# PostgreSQL's memory for one sort or hash of a segment's query. "Not in these 400,000
# customers" is answered with a hash of them only if it fits; at the default 4 MB it is
# answered by scanning the list again for each of a million customers (minutes).
WORK_MEM = "256MB"


def set_work_mem(cursor) -> None:
    """Give the segment queries of the current transaction their memory (PostgreSQL)."""
    if connection.vendor == "postgresql":
        cursor.execute(f"SET LOCAL work_mem = '{WORK_MEM}'")


def keyed_orders(cur, name: str, where: list[str], params: list, *, index: str) -> None:
    """SQLite: a temporary table `name` of the orders matching `where` (id, customer_id,
    ordered_at), keyed by id, read through `index`. SQLite joins order lines to their
    orders by looking each up in the order index, millions of scattered reads; reading the
    lines in their stored order against this table is several times faster."""
    cur.execute(
        f"CREATE TEMP TABLE {name} (id INTEGER PRIMARY KEY, customer_id INTEGER, ordered_at)"
    )
    cur.execute(
        f"INSERT INTO {name} SELECT id, customer_id, ordered_at FROM orders_order "  # noqa: S608
        f'INDEXED BY "{index}" WHERE {" AND ".join(where)} ORDER BY id',
        params,
    )


def revenue_where(
    alias: str = "", *, start=None, until=None, channel=None, customers=None
) -> tuple[list[str], list]:
    """The conditions (and parameters) of revenue orders placed from `start` up to `until`,
    in a sales channel, of some customers (each None: any)."""
    a = f"{alias}." if alias else ""
    revenue = [str(s) for s in REVENUE_STATUSES]
    where = [f"{a}status IN ({', '.join(['%s'] * len(revenue))})"]
    params: list = list(revenue)
    if start is not None:
        where.append(f"{a}ordered_at >= %s")
        params.append(adapt_time(start))
    if until is not None:
        where.append(f"{a}ordered_at < %s")
        params.append(adapt_time(until))
    if channel:
        where.append(f"{a}channel = %s")
        params.append(channel)
    if customers is not None:
        where.append(f"{a}customer_id IN ({', '.join(['%s'] * len(customers))})")
        params.extend(customers)
    return where, params


def adapt_time(value: dt.datetime):
    """A time as the database compares it with stored order times."""
    return connection.ops.adapt_datetimefield_value(value)


LINE_FIELDS = {"orders.new_products"}


def widest_line_window(definitions) -> int | None:
    """The widest window the definitions ask of order lines (None: all time, or none asked)."""
    found: list[int | None] = []

    def walk(node):
        if not isinstance(node, dict):
            return
        for key in ("all", "any"):
            for item in node.get(key, ()):
                walk(item)
        if "not" in node:
            walk(node["not"])
        if node.get("field") in LINE_FIELDS:
            found.append(node.get("days"))

    for d in definitions:
        walk(d)
    if not found or any(d is None for d in found):
        return None
    return max(found)
