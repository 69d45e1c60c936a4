"""Per-customer order aggregates computed once and shared by the segments refreshed together.

Fifty segments often ask the same questions of the orders: how many, how much, when last,
which categories, in the last 30, 90 or 365 days. Refreshed one by one, each would group the
orders of its window again. A refresh of several segments instead builds one temporary table
per window (and sales channel):
- per customer: count, sum, average, last and first order time;
- for order lines: one row per line (customer, category, product, SKU, whether it was
  discounted), and per customer the lines, the discounted lines and the categories.

The segments' conditions then read those tables. The tables live for the refresh, on its
connection, and are dropped at the end.
"""

from __future__ import annotations

import datetime as dt
import itertools

from django.db import connection

from guanxi.orders.choices import REVENUE_STATUSES

_names = itertools.count(1)


class SharedAggregates:
    """The temporary tables of one refresh run, made on first use."""

    def __init__(self, now: dt.datetime):
        self.now = now
        self.tables: dict[tuple, str] = {}

    # -- building -----------------------------------------------------------------------------

    def _create(self, key: tuple, select: str, params: list) -> str:
        name = self.tables.get(key)
        if name is None:
            name = f"segments_shared_{next(_names)}"
            with connection.cursor() as cur:
                cur.execute(f"CREATE TEMP TABLE {name} AS {select}", params)  # noqa: S608
            self.tables[key] = name
        return name

    def _where(self, days: int | None, alias: str = "") -> tuple[list[str], list]:
        a = f"{alias}." if alias else ""
        marks = ", ".join(["%s"] * len(REVENUE_STATUSES))
        where, params = [f"{a}status IN ({marks})"], [str(s) for s in REVENUE_STATUSES]
        if days:
            where.append(f"{a}ordered_at >= %s")
            params.append(adapt_time(self.now - dt.timedelta(days=days)))
        return where, params

    def orders(self, days: int | None, channel: str | None) -> str:
        """customer_id, n, s (sum), a (average), last_at, first_at of revenue orders."""
        where, params = self._where(days)
        if channel:
            where.append("channel = %s")
            params.append(channel)
        hint = ' INDEXED BY "order_at_cover"' if connection.vendor == "sqlite" else ""
        return self._create(
            ("orders", days, channel),
            "SELECT customer_id, COUNT(*) AS n, SUM(total) AS s, AVG(total) AS a, "
            "MAX(ordered_at) AS last_at, MIN(ordered_at) AS first_at "
            f"FROM orders_order{hint} WHERE {' AND '.join(where)} GROUP BY customer_id",
            params,
        )

    def lines(self, days: int | None) -> str:
        """One row per line of a revenue order: customer_id, category, product_name, sku, disc."""
        where, params = self._where(days, "o")
        hint = ' INDEXED BY "order_at_cover"' if connection.vendor == "sqlite" and days else ""
        return self._create(
            ("lines", days),
            "SELECT o.customer_id AS customer_id, l.category AS category, "
            "l.product_name AS product_name, COALESCE(p.sku, '') AS sku, "
            "CASE WHEN l.discount > 0 THEN 1 ELSE 0 END AS disc "
            f"FROM orders_order o{hint} JOIN orders_orderline l ON l.order_id = o.id "
            "LEFT JOIN orders_product p ON p.id = l.product_id "
            f"WHERE {' AND '.join(where)}",
            params,
        )

    def line_totals(self, days: int | None) -> str:
        """customer_id, lines, disc (discounted lines), cats (distinct categories)."""
        base = self.lines(days)
        return self._create(
            ("line_totals", days),
            "SELECT customer_id, COUNT(*) AS lines, SUM(disc) AS disc, "
            "COUNT(DISTINCT CASE WHEN category <> '' THEN category END) AS cats "
            f"FROM {base} GROUP BY customer_id",  # noqa: S608
            [],
        )

    def drop(self) -> None:
        with connection.cursor() as cur:
            for name in self.tables.values():
                cur.execute(f"DROP TABLE IF EXISTS {name}")
        self.tables.clear()


def adapt_time(value: dt.datetime):
    """A time as the database compares it with stored order times."""
    return connection.ops.adapt_datetimefield_value(value)
