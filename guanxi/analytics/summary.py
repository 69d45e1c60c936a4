"""What the value models read, aggregated set-based (no query per customer).

`read(as_of=…, churn_days=…)` has the database group the revenue orders up to the end of
the as-of day into purchase days (one row per customer and local calendar day: orders and
revenue), fetched as arrays (by two forked readers, half the customers each, for large data
sets), and works out with numpy:

- per customer: purchase days, orders, first and last purchase day, revenue, and the
  revenue of the first purchase day (so the spend model sees repeat purchases only);
- per owner (small lists, summed later over the owners a viewer may see): revenue, orders,
  buyers and new buyers per month; cohort sizes by first-order month and month of activity;
  active spells begun and ended per month (for the churn rate): a spell ends `churn_days`
  after a purchase that no other purchase follows within `churn_days`.

Days are counted in the installation's time zone (its UTC offset on the as-of date), as day
numbers since 1970-01-01; months as year × 12 + month − 1.
"""

import datetime as dt
import itertools
import multiprocessing as mp
import os
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import numpy as np
from django.conf import settings
from django.db import connection

from guanxi.customers.models import Customer
from guanxi.orders.choices import REVENUE_STATUSES
from guanxi.orders.models import Order

EPOCH = dt.date(1970, 1, 1)


def day_number(day: dt.date) -> int:
    return (day - EPOCH).days


def day_of(number: int) -> dt.date:
    return EPOCH + dt.timedelta(days=int(number))


def month_number(day: dt.date) -> int:
    return day.year * 12 + day.month - 1


def month_label(number: int) -> str:
    return f"{number // 12:04d}-{number % 12 + 1:02d}"


@dataclass
class Summary:
    as_of: dt.date
    as_of_day: int
    customer_ids: np.ndarray  # every customer, buyers or not
    owner_ids: np.ndarray  # their owners (-1 for none)
    # Buyers only, aligned with each other:
    buyer_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    days: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    orders: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    first_day: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    last_day: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    revenue: np.ndarray = field(default_factory=lambda: np.zeros(0))
    first_revenue: np.ndarray = field(default_factory=lambda: np.zeros(0))
    # Per owner: (owner_id, month, orders, revenue, buyers, new_buyers)
    months: list[tuple] = field(default_factory=list)
    # (owner_id, first month, month, customers)
    cohorts: list[tuple] = field(default_factory=list)
    # (owner_id, month, spells started, spells ended): an active spell ends `churn_days`
    # after a purchase that no other purchase follows within `churn_days`.
    spells: list[tuple] = field(default_factory=list)
    timings: dict = field(default_factory=dict)


class _Dialect:
    def __init__(self, vendor: str, offset_seconds: int):
        self.vendor = vendor
        self.offset = int(offset_seconds)

    def float(self, expression: str) -> str:
        # psycopg would hand numeric sums over as Decimal objects, far slower to convert.
        if self.vendor == "postgresql":
            return f"CAST({expression} AS DOUBLE PRECISION)"
        return expression

    def day(self, column: str) -> str:
        if self.vendor == "postgresql":
            # date_part is double precision; EXTRACT is numeric, several times slower per row.
            return f"CAST(FLOOR((date_part('epoch', {column}) + {self.offset}) / 86400) AS INTEGER)"
        return f"((unixepoch({column}) + {self.offset}) / 86400)"


def _offset_seconds(as_of: dt.date) -> int:
    zone = ZoneInfo(settings.TIME_ZONE)
    noon = dt.datetime.combine(as_of, dt.time(12), tzinfo=zone)
    return int(noon.utcoffset().total_seconds())


def end_of_day(as_of: dt.date) -> dt.datetime:
    """The first moment after the as-of day, in the installation's time zone."""
    zone = ZoneInfo(settings.TIME_ZONE)
    return dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time(0), tzinfo=zone)


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


# With this many orders or more, two processes read half the customers each: the database
# work and turning its rows into arrays both take one core.
PARALLEL_FROM = 500_000
_BATCH = 200_000


def _purchase_days(as_of: dt.date, low: int, high: int) -> np.ndarray:
    """(customer, day, orders, revenue) of the customers with ids in [low, high], one row per
    customer and purchase day, as a float array of four columns."""
    dialect = _Dialect(connection.vendor, _offset_seconds(as_of))
    statuses = ", ".join(f"'{s}'" for s in REVENUE_STATUSES)
    day = dialect.day("o.ordered_at")
    # SQLite: a range of customer ids must not send it through the (customer, date) index,
    # which costs a row lookup per order; a scan is several times faster.
    table = _q(Order._meta.db_table) + (" o NOT INDEXED" if connection.vendor == "sqlite" else " o")
    sql = f"""
        SELECT o.customer_id AS customer_id, {day} AS d, COUNT(*) AS n,
            {dialect.float("SUM(o.total)")} AS s
        FROM {table}
        WHERE o.status IN ({statuses}) AND o.ordered_at < %s
            AND o.customer_id BETWEEN %s AND %s
        GROUP BY o.customer_id, {day}
    """
    end = connection.ops.adapt_datetimefield_value(end_of_day(as_of))
    if connection.vendor == "postgresql":
        return _copied_rows(sql, [end, low, high])
    parts = []
    with connection.cursor() as cursor:
        cursor.execute(sql, [end, low, high])
        while rows := cursor.fetchmany(_BATCH):
            flat = itertools.chain.from_iterable(rows)
            parts.append(np.fromiter(flat, dtype=float, count=4 * len(rows)))
    if not parts:
        return np.zeros((0, 4))
    return np.concatenate(parts).reshape(-1, 4)


# PostgreSQL's binary COPY of (bigint, integer, bigint, double precision) rows: a field count,
# then each field's length and its big-endian value. Fixed width, so numpy reads it as is.
_COPY_ROW = np.dtype(
    [("n", ">i2"), ("l0", ">i4"), ("customer", ">i8"), ("l1", ">i4"), ("day", ">i4"),
     ("l2", ">i4"), ("orders", ">i8"), ("l3", ">i4"), ("revenue", ">f8")]
)  # fmt: skip
_COPY_HEADER = 19  # signature, flags, header extension length
_COPY_TRAILER = 2  # the field count -1


def _copied_rows(sql: str, params: list) -> np.ndarray:
    """Run the purchase-day query through binary COPY: no Python object per value."""
    typed = f"""
        SELECT CAST(customer_id AS BIGINT), CAST(d AS INTEGER), CAST(n AS BIGINT),
            CAST(s AS DOUBLE PRECISION)
        FROM ({sql}) x
    """
    with connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg's own cursor: COPY is not in the DB-API
        query = raw.mogrify(typed, params)
        chunks = []
        with raw.copy(f"COPY ({query}) TO STDOUT (FORMAT BINARY)") as copy:
            for chunk in copy:
                chunks.append(bytes(chunk))
    data = b"".join(chunks)
    body = data[_COPY_HEADER : len(data) - _COPY_TRAILER]
    rows = np.frombuffer(body, dtype=_COPY_ROW)
    out = np.empty((len(rows), 4))
    out[:, 0], out[:, 1] = rows["customer"], rows["day"]
    out[:, 2], out[:, 3] = rows["orders"], rows["revenue"]
    return out


def _forked_start() -> None:
    """In a forked reader: the parent's connections are left alone; a fresh one is opened."""
    from django.db import connections

    for each in connections.all(initialized_only=True):
        each.connection = None


def _forked_read(args) -> np.ndarray:
    try:
        return _purchase_days(*args)
    finally:
        connection.close()


def _read_days(as_of: dt.date, read_customers):
    """The purchase days of every customer, and `read_customers()`'s result: on a machine
    with two cores or more and a large data set, forked readers take half the customers
    each while this process reads the customers."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT MIN(id), MAX(id) FROM {_q(Customer._meta.db_table)}")
        low, high = cursor.fetchone()
    if low is None:
        return np.zeros((0, 4)), read_customers()
    cores = os.cpu_count() or 1
    if (
        Order.objects.count() < PARALLEL_FROM
        or cores < 2
        or "fork" not in mp.get_all_start_methods()
        or connection.in_atomic_block  # forked readers would not see uncommitted rows
    ):
        return _purchase_days(as_of, low, high), read_customers()
    connection.close()  # before forking: the readers open their own; reopened on next use
    workers = min(cores, 4)
    edges = np.linspace(low, high + 1, workers + 1).astype(np.int64)
    ranges = [(as_of, int(edges[k]), int(edges[k + 1]) - 1) for k in range(workers)]
    with mp.get_context("fork").Pool(workers, initializer=_forked_start) as pool:
        pending = pool.map_async(_forked_read, ranges)
        customers = read_customers()
        parts = pending.get()
    return np.concatenate(parts), customers


def _group(keys: list[np.ndarray], weights: list[np.ndarray]) -> list[tuple]:
    """Rows (key…, count, sum of each weight) grouped by the given integer key columns."""
    if len(keys[0]) == 0:
        return []
    # One int64 key per row (the columns are small integers), far faster than unique rows.
    packed = np.zeros(len(keys[0]), dtype=np.int64)
    lows, sizes = [], []
    for column in keys:
        low, size = int(column.min()), int(column.max() - column.min()) + 1
        packed = packed * size + (column - low)
        lows.append(low)
        sizes.append(size)
    space = int(np.prod(sizes, dtype=np.float64))
    if space <= 4 * len(packed) + 1024:
        # A small key space (owners × months): count into it directly, no sorting.
        counts = np.bincount(packed, minlength=space)
        uniq = np.flatnonzero(counts)
        sums = [np.bincount(packed, weights=w, minlength=space)[uniq] for w in weights]
        counts = counts[uniq]
    else:
        uniq, inverse, counts = np.unique(packed, return_inverse=True, return_counts=True)
        sums = [np.bincount(inverse, weights=w, minlength=len(uniq)) for w in weights]
    columns = []
    rest = uniq
    for low, size in zip(reversed(lows), reversed(sizes), strict=True):
        columns.append((rest % size + low).tolist())
        rest = rest // size
    columns.reverse()
    return list(zip(*columns, counts.tolist(), *(w.tolist() for w in sums), strict=True))


def read(*, as_of: dt.date, churn_days: int, clock=None) -> Summary:
    """Aggregate every revenue order up to the end of `as_of` (see the module's docstring)."""
    import time

    clock = clock or time.perf_counter
    timings: dict[str, float] = {}
    started = clock()

    def lap(name):
        nonlocal started
        now = clock()
        timings[name] = round(now - started, 3)
        started = now

    as_of_day = day_number(as_of)

    def read_customers():
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT id, COALESCE(owner_id, -1) FROM {_q(Customer._meta.db_table)} ORDER BY id"
            )
            return np.array(cursor.fetchall(), dtype=np.int64).reshape(-1, 2)

    days, everyone = _read_days(as_of, read_customers)
    summary = Summary(
        as_of=as_of,
        as_of_day=as_of_day,
        customer_ids=everyone[:, 0].copy(),
        owner_ids=everyone[:, 1].copy(),
    )
    if len(days) and len(summary.customer_ids):
        # A customer made while the orders were read has no owner here: left for next time.
        ids = days[:, 0].astype(np.int64)
        at = np.minimum(np.searchsorted(summary.customer_ids, ids), len(summary.customer_ids) - 1)
        known = summary.customer_ids[at] == ids
        if not known.all():
            days = days[known]
    elif len(days):
        days = days[:0]
    lap("purchase days")
    summary.timings = timings
    if len(days) == 0:
        return summary
    if (
        len(days) > 1
        and not (
            (np.diff(days[:, 0]) > 0) | ((np.diff(days[:, 0]) == 0) & (np.diff(days[:, 1]) > 0))
        ).all()
    ):
        days = days[np.lexsort((days[:, 1], days[:, 0]))]
    cust = days[:, 0].astype(np.int64)
    day = days[:, 1].astype(np.int64)
    n = days[:, 2].astype(np.int64)
    revenue = days[:, 3]
    starts = np.flatnonzero(np.r_[True, cust[1:] != cust[:-1]])
    ends = np.r_[starts[1:], len(cust)]
    summary.buyer_ids = cust[starts]
    summary.days = ends - starts
    summary.orders = np.add.reduceat(n, starts)
    summary.first_day = day[starts]
    summary.last_day = day[ends - 1]
    summary.revenue = np.add.reduceat(revenue, starts)
    summary.first_revenue = revenue[starts]
    lap("per customer")

    # Per purchase day: its customer's owner and first month, its month, the gaps around it.
    per_day = np.repeat(np.arange(len(starts)), summary.days)
    owner = summary.owner_ids[np.searchsorted(summary.customer_ids, summary.buyer_ids)][per_day]
    low = int(day.min())
    month_of = np.array(
        [month_number(day_of(d)) for d in range(low, max(int(day.max()), as_of_day) +
                                                churn_days + 2)], dtype=np.int64
    )  # fmt: skip
    month = month_of[day - low]
    first_month = month_of[summary.first_day - low][per_day]
    first_of_customer = np.zeros(len(cust), dtype=bool)
    first_of_customer[starts] = True
    last_of_customer = np.zeros(len(cust), dtype=bool)
    last_of_customer[ends - 1] = True
    # The first purchase day of a customer in a month: counts the customer once that month.
    new_month = first_of_customer | np.r_[True, month[1:] != month[:-1]]
    summary.months = [
        (o if o >= 0 else None, m, int(orders_sum), amount, int(buyers), int(new))
        for o, m, _c, orders_sum, amount, buyers, new in _group(
            [owner, month],
            [n.astype(float), revenue, new_month.astype(float), first_of_customer.astype(float)],
        )
    ]
    summary.cohorts = [
        (o if o >= 0 else None, f, m, c)
        for o, f, m, c in _group([owner[new_month], first_month[new_month], month[new_month]], [])
    ]
    lap("per month")
    gap_before = np.r_[0, np.diff(day)]
    gap_after = np.r_[np.diff(day), 0]
    began = first_of_customer | (gap_before > churn_days)
    ended = (last_of_customer | (gap_after > churn_days)) & (day + churn_days <= as_of_day)
    spells: dict[tuple, list[int]] = {}
    for o, m, c in _group([owner[began], month[began]], []):
        spells.setdefault((o, m), [0, 0])[0] = c
    for o, m, c in _group([owner[ended], month_of[day[ended] + churn_days - low]], []):
        spells.setdefault((o, m), [0, 0])[1] = c
    summary.spells = [
        (o if o >= 0 else None, m, started_n, ended_n)
        for (o, m), (started_n, ended_n) in sorted(spells.items())
    ]
    lap("spells")
    return summary


def holdout_purchases(*, after: dt.date, until: dt.date, customer_ids: np.ndarray) -> np.ndarray:
    """Purchase days of each customer in (after, until] — the holdout period after a
    calibration that ended on `after` — aligned with `customer_ids`."""
    dialect = _Dialect(connection.vendor, _offset_seconds(after))
    orders = _q(Order._meta.db_table)
    statuses = ", ".join(f"'{s}'" for s in REVENUE_STATUSES)
    day = dialect.day("o.ordered_at")
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT customer_id, COUNT(*) FROM (
                SELECT o.customer_id, {day} AS d FROM {orders} o
                WHERE o.status IN ({statuses}) AND o.ordered_at >= %s AND o.ordered_at < %s
                GROUP BY o.customer_id, {day}
            ) x GROUP BY customer_id
            """,
            [
                connection.ops.adapt_datetimefield_value(end_of_day(after)),
                connection.ops.adapt_datetimefield_value(end_of_day(until)),
            ],
        )
        rows = np.array(cursor.fetchall(), dtype=np.int64).reshape(-1, 2)
    counts = np.zeros(len(customer_ids), dtype=np.int64)
    if rows.size:
        where = np.searchsorted(customer_ids, rows[:, 0])
        inside = (where < len(customer_ids)) & (
            customer_ids[np.minimum(where, len(customer_ids) - 1)] == rows[:, 0]
        )
        counts[where[inside]] = rows[inside, 1]
    return counts


def last_order_day() -> dt.date | None:
    """The local day of the latest revenue order, if any (how far a holdout can reach)."""
    # Walk the ordered_at index from the newest order: filtering on the status first would
    # have the database sort every revenue order.
    latest = None
    for at, status in Order.objects.order_by("-ordered_at").values_list("ordered_at", "status")[
        :1000
    ]:
        if status in REVENUE_STATUSES:
            latest = at
            break
    else:
        latest = (
            Order.objects.filter(status__in=REVENUE_STATUSES)
            .order_by("-ordered_at")
            .values_list("ordered_at", flat=True)
            .first()
        )
    if latest is None:
        return None
    return latest.astimezone(ZoneInfo(settings.TIME_ZONE)).date()
