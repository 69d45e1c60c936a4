"""Points for orders that hold none yet, set-based: a program started on years of history, or
orders that came in bulk (imports). `guanxi loyalty award`.

Each batch of customers is one transaction: their revenue orders without a ledger entry are
read, the customers who are not members yet are enrolled (from their first order, in the
lowest tier), every order is priced with numpy by the rules in force when it was placed
(`pricing.price`, the same arithmetic as one order's `rules.order_points`), and the lots are
inserted and the balances moved in a few statements. History earns at each member's current
tier; tiers are evaluated once at the end (`tiers_evaluate`), and lots already past their
expiry are expired by the next `points_expire` (the command runs both).

On PostgreSQL a batch holds an advisory lock that the one-order path
(`earning.orders_points_sync`) takes shared, so an order changed during a batch cannot be
given points by both.
"""

from __future__ import annotations

import calendar
import datetime as dt
import time
from collections.abc import Callable

import numpy as np
from django.db import connection, transaction
from django.utils import timezone

from guanxi.core.bulk import Inserter, allocate_ids

from ..choices import EntryKind
from ..models import LedgerEntry, LoyaltyProgram, LoyaltyTier, Member
from ..pricing import OrderArrays, price
from .earning import AWARD_LOCK, Versions
from .ledger import add_months
from .members import members_record, new_codes

BATCH_CUSTOMERS = 50_000
ENTRY_COLUMNS = ["id", "member", "kind", "points", "remaining", "expires_at", "at", "order",
                 "order_number", "version", "reason", "detail", "created_at"]  # fmt: skip
MEMBER_COLUMNS = ["id", "customer", "balance", "earned_total", "redeemed_total", "expired_total",
                  "tier", "tier_since", "referral_code", "joined_at"]  # fmt: skip


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def local_offset_seconds() -> int:
    """The installation's offset from UTC now (China has no daylight saving time)."""
    return int(timezone.localtime().utcoffset().total_seconds())


def epoch_sql(column: str) -> str:
    if connection.vendor == "postgresql":
        return f"CAST(date_part('epoch', {column}) AS BIGINT)"
    return f"unixepoch({column})"


def cents_sql(column: str) -> str:
    kind = "BIGINT" if connection.vendor == "postgresql" else "INTEGER"
    return f"CAST(ROUND({column} * 100) AS {kind})"


def channel_sql(column: str, channels: list[str]) -> str:
    cases = " ".join(f"WHEN '{c}' THEN {i}" for i, c in enumerate(channels))
    return f"CASE {column} {cases} ELSE -1 END"


def category_cents(rule: dict, where: str, params: list) -> dict[int, int]:
    """Order id → cents of its positive lines in the rule's categories, for the orders of
    `where` (a condition on `o`)."""
    from guanxi.orders.models import Order, OrderLine

    marks = ", ".join(["%s"] * len(rule["_categories"]))
    sql = f"""
        SELECT l.order_id, {cents_sql("SUM(l.amount)")}
        FROM {_q(OrderLine._meta.db_table)} l
        JOIN {_q(Order._meta.db_table)} o ON o.id = l.order_id
        WHERE {where} AND l.amount > 0 AND l.category IN ({marks})
        GROUP BY l.order_id
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, *sorted(rule["_categories"])])
        return dict(cursor.fetchall())


def orders_award(
    *, since: dt.datetime | None = None, on_progress: Callable[[dict], None] | None = None
) -> dict:
    """Give every revenue order without points what it earns; returns the counts."""
    from guanxi.customers.models import Customer
    from guanxi.orders.choices import REVENUE_STATUSES, SalesChannel

    program = LoyaltyProgram.current()
    versions = Versions()
    counts = {"orders": 0, "points": 0, "enrolled": 0, "members": 0, "seconds": 0.0}
    if not versions or not program.is_active:
        return counts
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT MIN(id), MAX(id) FROM {_q(Customer._meta.db_table)}")
        low, high = cursor.fetchone()
    if low is None:
        return counts
    channels = list(SalesChannel.values)
    tiers = list(LoyaltyTier.objects.order_by("rank"))
    for start in range(low, high + 1, BATCH_CUSTOMERS):
        with transaction.atomic():
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_xact_lock(%s)", [AWARD_LOCK])
            done = _award_batch(
                start, start + BATCH_CUSTOMERS - 1, since=since, program=program,
                versions=versions, channels=channels, tiers=tiers,
                statuses=list(REVENUE_STATUSES),
            )  # fmt: skip
        for key in ("orders", "points", "enrolled", "members"):
            counts[key] += done[key]
        counts["seconds"] = round(time.perf_counter() - started, 2)
        if on_progress:
            on_progress(dict(counts, customers_done=min(start + BATCH_CUSTOMERS, high + 1) - low,
                             customers_total=high + 1 - low))  # fmt: skip
    return counts


def _award_batch(low, high, *, since, program, versions, channels, tiers, statuses) -> dict:
    from guanxi.orders.models import Order

    order_table = _q(Order._meta.db_table)
    ledger_table = _q(LedgerEntry._meta.db_table)
    marks = ", ".join(["%s"] * len(statuses))
    where = f"o.status IN ({marks}) AND o.customer_id BETWEEN %s AND %s"
    params: list = [*statuses, low, high]
    if since is not None:
        where += " AND o.ordered_at >= %s"
        params.append(connection.ops.adapt_datetimefield_value(since))
    where += f" AND NOT EXISTS (SELECT 1 FROM {ledger_table} e WHERE e.order_id = o.id)"
    # SQLite: the stored text itself (written back as it is), not a datetime made from it.
    at_column = "CAST(o.ordered_at AS TEXT)" if connection.vendor == "sqlite" else "o.ordered_at"
    sql = f"""
        SELECT o.id, o.customer_id, {epoch_sql("o.ordered_at")},
            {channel_sql("o.channel", channels)}, {cents_sql("o.total")}, o.number, {at_column}
        FROM {order_table} o
        WHERE {where}
        ORDER BY o.customer_id, o.ordered_at, o.id
    """  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    empty = {"orders": 0, "points": 0, "enrolled": 0, "members": 0}
    if not rows:
        return empty
    ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    customers = np.fromiter((r[1] for r in rows), dtype=np.int64, count=len(rows))
    epoch = np.fromiter((r[2] for r in rows), dtype=np.int64, count=len(rows))
    channel = np.fromiter((r[3] for r in rows), dtype=np.int64, count=len(rows))
    cents = np.fromiter((r[4] for r in rows), dtype=np.int64, count=len(rows))
    day = (epoch + local_offset_seconds()) // 86400

    # Members: those there are, and the customers to enrol (from their first order here).
    unique_customers = np.unique(customers)
    existing = {
        cid: (pk, tier_id, balance)
        for pk, cid, tier_id, balance in Member.objects.filter(
            customer_id__in=unique_customers.tolist()
        ).values_list("pk", "customer_id", "tier_id", "balance")
    }
    if not program.auto_enrol:
        keep = np.isin(customers, list(existing))
        if not keep.any():
            return empty
        rows = [r for r, k in zip(rows, keep, strict=True) if k]
        ids, customers, epoch, channel, cents, day = (
            a[keep] for a in (ids, customers, epoch, channel, cents, day)
        )
        unique_customers = np.unique(customers)
    earned_before = set(
        LedgerEntry.objects.filter(
            member_id__in=[v[0] for v in existing.values()], kind=EntryKind.EARN,
            order__isnull=False,
        ).values_list("member_id", flat=True).distinct()
    )  # fmt: skip
    first_index = np.unique(customers, return_index=True)[1]  # rows are by customer, time
    first = np.zeros(len(ids), dtype=bool)
    first[first_index] = True
    member_pks = {cid: v[0] for cid, v in existing.items()}
    for i in first_index:
        pk = member_pks.get(int(customers[i]))
        if pk is not None and pk in earned_before:
            first[i] = False
    lowest = tiers[0] if tiers else None
    new_customers = [int(c) for c in unique_customers if int(c) not in existing]
    new_ids = allocate_ids(Member, len(new_customers))
    for cid, pk in zip(new_customers, new_ids, strict=True):
        member_pks[cid] = pk
        existing[cid] = (pk, lowest.pk if lowest else None, 0)
    tier_pks = [t.pk for t in tiers]
    tier_index = np.array(
        [tier_pks.index(existing[int(c)][1]) if existing[int(c)][1] in tier_pks else -1
         for c in customers], dtype=np.int64,
    )  # fmt: skip

    # Price each order by the version in force when it was placed.
    starts = np.array([s.timestamp() for s in versions.starts], dtype=np.float64)
    which = np.maximum(np.searchsorted(starts, epoch, side="right") - 1, 0)
    points = np.zeros(len(ids), dtype=np.int64)
    condition = "o.customer_id BETWEEN %s AND %s"
    for v_index in np.unique(which):
        version = versions.versions[v_index]
        picked = np.nonzero(which == v_index)[0]
        categories = {}
        for rule in version.multipliers:
            if rule["_categories"]:
                found = category_cents(rule, condition, [low, high])
                categories[rule["name"]] = np.array(
                    [found.get(int(i), 0) for i in ids[picked]], dtype=np.int64
                )
        arrays = OrderArrays(cents[picked], day[picked], channel[picked], tier_index[picked],
                             first[picked], categories)  # fmt: skip
        points[picked] = price(
            version, arrays, channels=channels, tier_keys=[t.key for t in tiers],
            tier_multipliers=[t.multiplier for t in tiers],
        )  # fmt: skip
        if version.period_cap is not None:
            _cap_periods(version, points, picked, customers, day)
    numbers = [v.number for v in versions.versions]

    # Lots: a member whose balance is below zero fills that hole first.
    remaining = points.copy()
    for cid, (_pk, _tier, balance) in existing.items():
        if balance < 0:
            hole = -balance
            for i in np.nonzero(customers == cid)[0]:
                take = min(int(remaining[i]), hole)
                remaining[i] -= take
                hole -= take
                if not hole:
                    break
    earning = points > 0
    months = program.expiry_months
    sqlite = connection.vendor == "sqlite"
    now = connection.ops.adapt_datetimefield_value(timezone.now()) if sqlite else timezone.now()
    picked = np.nonzero(earning)[0]
    entry_ids = allocate_ids(LedgerEntry, len(picked))
    # The rows as the database takes them (Inserter's converted path): on SQLite the order's
    # own stored time text, and its expiry worked out on that text; JSON written out.
    shift = _text_months if sqlite else add_months
    members_of = [member_pks[c] for c in customers[picked].tolist()]
    times = [rows[i][6] for i in picked.tolist()]
    expiries = [shift(t, months) for t in times] if months else [None] * len(times)
    firsts = first[picked].tolist()
    details = [
        f'{{"total": "{c // 100}.{c % 100:02d}", "first": true}}' if f
        else f'{{"total": "{c // 100}.{c % 100:02d}"}}'
        for c, f in zip(cents[picked].tolist(), firsts, strict=True)
    ]  # fmt: skip
    version_numbers = [numbers[w] for w in which[picked].tolist()]
    entry_rows = list(zip(
        entry_ids, members_of, [EntryKind.EARN.value] * len(picked), points[picked].tolist(),
        remaining[picked].tolist(), expiries, times, ids[picked].tolist(),
        [rows[i][5] for i in picked.tolist()], version_numbers, [""] * len(picked), details,
        [now] * len(picked), strict=True,
    ))  # fmt: skip
    per_member: dict[int, int] = {}
    for pk, n in zip(members_of, points[picked].tolist(), strict=True):
        per_member[pk] = per_member.get(pk, 0) + n
    codes = new_codes(len(new_customers))
    first_at = {}
    for i in first_index:
        first_at[int(customers[i])] = rows[i][6]
    member_rows = []
    for cid, pk, code in zip(new_customers, new_ids, codes, strict=True):
        joined = first_at[cid]
        gained = per_member.get(pk, 0)
        member_rows.append((pk, cid, gained, gained, 0, 0, lowest.pk if lowest else None,
                            joined if lowest else None, code, joined))  # fmt: skip
    Inserter(Member, MEMBER_COLUMNS).insert(member_rows, converted=True)
    Inserter(LedgerEntry, ENTRY_COLUMNS).insert(entry_rows, converted=True)
    new_set = set(new_ids)
    updates = [(n, n, pk) for pk, n in per_member.items() if pk not in new_set]
    if updates:
        with connection.cursor() as cursor:
            cursor.executemany(
                f"UPDATE {_q(Member._meta.db_table)} SET balance = balance + %s, "
                "earned_total = earned_total + %s WHERE id = %s",
                updates,
            )
    members_record(
        (cid, _aware(row[9]), {"action": "joined", "tier": lowest.key if lowest else "",
                               "award": True})
        for cid, row in zip(new_customers, member_rows, strict=True)
    )  # fmt: skip
    return {"orders": int(earning.sum()), "points": int(points.sum()),
            "enrolled": len(new_customers), "members": len(per_member)}  # fmt: skip


def _text_months(text: str, months: int, _days: dict = {}) -> str:  # noqa: B006 (a memo)
    """SQLite's stored time text ("YYYY-MM-DD HH:MM:SS…"), `months` later."""
    key = (text[:10], months)
    day = _days.get(key)
    if day is None:
        index = int(text[5:7]) - 1 + months
        year, month = int(text[:4]) + index // 12, index % 12 + 1
        last = calendar.monthrange(year, month)[1]
        day = _days[key] = f"{year:04d}-{month:02d}-{min(int(text[8:10]), last):02d}"
    return day + text[10:]


def _aware(value):
    if isinstance(value, str):
        return dt.datetime.fromisoformat(value).replace(tzinfo=dt.UTC)
    return value


def _cap_periods(version, points, picked, customers, day) -> None:
    """The version's cap per member and period, over these orders in time order."""
    from ..rules import period_start

    used: dict[tuple, int] = {}
    for i in picked:
        local = dt.datetime(1970, 1, 1) + dt.timedelta(days=int(day[i]))
        start = period_start(version.period, local)
        key = (int(customers[i]), start)
        room = max(version.period_cap - used.get(key, 0), 0)
        points[i] = min(int(points[i]), room)
        used[key] = used.get(key, 0) + int(points[i])
