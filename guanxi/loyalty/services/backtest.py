"""The rule backtest: replay a proposed rule set (and tier thresholds) over the last N months
of real orders, against the rules that were in force, before publishing it.

Both sides are priced by `pricing.price` on the same orders (revenue orders of the window,
read as columns; the first order of a customer who never bought before the window gets the
first-order bonus). So that the two are compared alike, each side's tiers are those its
thresholds give at the end of the window (from spend, or from the points that side gives,
worked out before the tier multipliers), and the tier multipliers follow from those.
Liability under the proposal is today's outstanding points plus the difference in points the
window's orders would have earned — the same redemptions and expiry assumed.
"""

from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal, InvalidOperation

import numpy as np
from django.db import connection
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi.accounts import access
from guanxi.core.errors import Errors

from ..choices import QualifyBy, VersionStatus
from ..columns import int_columns, split_by_customer
from ..models import LoyaltyProgram, LoyaltyTier, Member, RuleVersion
from ..pricing import OrderArrays, price
from ..rules import Compiled
from .award import cents_sql, channel_sql, epoch_sql, local_offset_seconds
from .earning import Versions
from .ledger import add_months
from .program import _clean_version

MAX_MONTHS = 60


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _proposal(data: dict, errors: Errors) -> tuple[Compiled | None, dict]:
    """The proposed version (a stored draft by id, or rules given here) and thresholds."""
    thresholds = {}
    raw = data.get("thresholds") or {}
    keys = set(LoyaltyTier.objects.values_list("key", flat=True))
    if not isinstance(raw, dict):
        errors.add("thresholds", _("Must be an object of tier key → threshold."))
        raw = {}
    for key, value in raw.items():
        if key not in keys:
            errors.add(f"thresholds.{key}", _("Unknown tier: %(value)s") % {"value": key})
            continue
        try:
            amount = Decimal(str(value))
            if not amount.is_finite() or amount < 0:
                raise InvalidOperation
            thresholds[key] = amount
        except InvalidOperation:
            errors.add(f"thresholds.{key}", _("Must be a number of 0 or more."))
    if data.get("version") is not None:
        version = RuleVersion.objects.filter(pk=data["version"]).first()
        if version is None:
            errors.add("version", _("No such rules version."))
            return None, thresholds
        return Compiled.of(version), thresholds
    fields = {k: data[k] for k in ("base_rate", "rounding", "order_cap", "rules") if k in data}
    clean = _clean_version(fields, errors)
    current = Versions()
    base = current.versions[-1] if current else None
    version = RuleVersion(
        number=0, status=VersionStatus.DRAFT,
        base_rate=clean.get("base_rate", base.base_rate if base else Decimal("1")),
        rounding=clean.get("rounding", base.rounding if base else "down"),
        order_cap=clean.get("order_cap"), rules=clean.get("rules", []),
    )  # fmt: skip
    return Compiled.of(version), thresholds


def _read_orders(start: dt.datetime, end: dt.datetime, channels: list[str]) -> np.ndarray:
    """(id, customer, epoch seconds, channel, cents) of the revenue orders in [start, end)."""
    from guanxi.customers.models import Customer
    from guanxi.orders.choices import REVENUE_STATUSES
    from guanxi.orders.models import Order

    table = _q(Order._meta.db_table) + (" o NOT INDEXED" if connection.vendor == "sqlite" else " o")
    statuses = ", ".join(f"'{s}'" for s in REVENUE_STATUSES)
    sql = f"""
        SELECT o.id, o.customer_id, {epoch_sql("o.ordered_at")},
            {channel_sql("o.channel", channels)}, {cents_sql("o.total")}
        FROM {table}
        WHERE o.status IN ({statuses}) AND o.ordered_at >= %s AND o.ordered_at < %s
            AND o.customer_id BETWEEN %s AND %s
    """
    bounds = [connection.ops.adapt_datetimefield_value(t) for t in (start, end)]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT MIN(id), MAX(id) FROM {_q(Customer._meta.db_table)}")
        low, high = cursor.fetchone()
    if low is None:
        return np.zeros((0, 5), dtype=np.int64)
    estimate = Order.objects.filter(ordered_at__gte=start, ordered_at__lt=end).count()
    return split_by_customer(
        lambda lo, hi: int_columns(sql, [*bounds, lo, hi], 5), low, high, rows=estimate
    )


def _category_cents(rule: dict, ids: np.ndarray) -> np.ndarray:
    """The cents of each order's positive lines in the rule's categories (orders sorted by
    id). The lines are read straight, no join: those of orders outside `ids` are dropped."""
    from guanxi.orders.models import OrderLine

    marks = ", ".join(["%s"] * len(rule["_categories"]))
    table = _q(OrderLine._meta.db_table) + (
        " l NOT INDEXED" if connection.vendor == "sqlite" else " l"
    )
    sql = f"""
        SELECT l.order_id, {cents_sql("l.amount")} FROM {table}
        WHERE l.amount > 0 AND l.category IN ({marks}) AND l.order_id BETWEEN %s AND %s
    """
    categories = sorted(rule["_categories"])
    low, high = int(ids[0]), int(ids[-1])
    lines = split_by_customer(
        lambda lo, hi: int_columns(sql, [*categories, lo, hi], 2), low, high, rows=len(ids)
    )
    values = np.zeros(len(ids), dtype=np.int64)
    if len(lines):
        where = np.searchsorted(ids, lines[:, 0])
        ok = (where < len(ids)) & (ids[np.minimum(where, len(ids) - 1)] == lines[:, 0])
        np.add.at(values, where[ok], lines[ok, 1])
    return values


def _bought_before(start: dt.datetime) -> np.ndarray:
    from guanxi.orders.choices import REVENUE_STATUSES
    from guanxi.orders.models import Order

    statuses = ", ".join(f"'{s}'" for s in REVENUE_STATUSES)
    sql = f"""
        SELECT DISTINCT o.customer_id FROM {_q(Order._meta.db_table)} o
        WHERE o.status IN ({statuses}) AND o.ordered_at < %s
    """
    found = int_columns(sql, [connection.ops.adapt_datetimefield_value(start)], 1)
    return np.unique(found[:, 0])


def _tiers_by(values: np.ndarray, thresholds: list[Decimal]) -> np.ndarray:
    """The index of the highest tier each value reaches (−1: none)."""
    index = np.full(len(values), -1, dtype=np.int64)
    for i, limit in enumerate(thresholds):
        index[values >= float(limit)] = i
    return index


def backtest(*, actor, proposal: dict, months: int = 12, now: dt.datetime | None = None) -> dict:
    """Points issued, liability and tier distribution under the proposal and the current
    rules, over the last `months` months (see the module's docstring)."""
    access.require(actor, "loyalty.manage")
    from guanxi.orders.choices import SalesChannel

    started = time.perf_counter()
    errors = Errors()
    if isinstance(months, bool) or not isinstance(months, int) or not 1 <= months <= MAX_MONTHS:
        errors.add("months", _("Must be a whole number from 1 to %(n)s.") % {"n": MAX_MONTHS})
    proposed, thresholds = _proposal(proposal, errors)
    errors.raise_if_any()
    now = now or timezone.now()
    start = add_months(now, -months)
    read_from = min(start, now - dt.timedelta(days=365))
    channels = list(SalesChannel.values)
    tiers = list(LoyaltyTier.objects.order_by("rank"))
    columns = _read_orders(read_from, now, channels)
    columns = columns[np.argsort(columns[:, 0], kind="stable")]  # by order id
    ids, customers, epoch, channel, cents = (columns[:, i] for i in range(5))
    offset = local_offset_seconds()
    day = (epoch + offset) // 86400
    in_window = epoch >= int(start.timestamp())
    year_ago = epoch >= int((now - dt.timedelta(days=365)).timestamp())

    # The first order of customers who never bought before the orders read.
    order = np.lexsort((ids, epoch, customers))
    first = np.zeros(len(ids), dtype=bool)
    if len(ids):
        starts = np.ones(len(order), dtype=bool)
        starts[1:] = customers[order][1:] != customers[order][:-1]
        first[order[starts]] = True
        first &= ~np.isin(customers, _bought_before(read_from))
    unique_customers, customer_index = np.unique(customers, return_inverse=True)

    versions = Versions()
    current_versions = (
        np.maximum(np.searchsorted(
            np.array([s.timestamp() for s in versions.starts]), epoch, side="right") - 1, 0)
        if versions else np.zeros(len(ids), dtype=np.int64)
    )  # fmt: skip
    category_rules = {
        r["name"]: r
        for v in [*(versions.versions if versions else []), proposed]
        for r in v.multipliers
        if r["_categories"]
    }
    categories = {}
    if category_rules and len(ids):
        for name, rule in category_rules.items():
            categories[name] = _category_cents(rule, ids)
    program = LoyaltyProgram.current()
    tier_keys = [t.key for t in tiers]
    multipliers = [t.multiplier for t in tiers]
    spend = np.bincount(customer_index, weights=np.where(year_ago, cents, 0) / 100,
                        minlength=len(unique_customers))  # fmt: skip

    def side(pick_version, limits) -> dict:
        def priced(tier_of_customer):
            out = np.zeros(len(ids), dtype=np.int64)
            arrays = OrderArrays(cents, day, channel, tier_of_customer[customer_index], first,
                                 categories)  # fmt: skip
            for v_index, version in pick_version():
                picked = np.nonzero(v_index)[0] if v_index is not None else slice(None)
                part = arrays if v_index is None else arrays.take(picked)
                out[picked] = price(version, part, channels=channels, tier_keys=tier_keys,
                                    tier_multipliers=multipliers)  # fmt: skip
            return out

        if program.qualify_by == QualifyBy.POINTS:
            untiered = priced(np.full(len(unique_customers), -1, dtype=np.int64))
            values = np.bincount(customer_index, weights=np.where(year_ago, untiered, 0),
                                 minlength=len(unique_customers))  # fmt: skip
        else:
            values = spend
        tier_of_customer = _tiers_by(values, limits)
        points = np.where(in_window, priced(tier_of_customer), 0)
        return {"points": points, "tiers": tier_of_customer}

    def current_versions_pick():
        if not versions:
            return []
        return [(current_versions == i, v) for i, v in enumerate(versions.versions)
                if (current_versions == i).any()]  # fmt: skip

    current = side(current_versions_pick, [t.threshold for t in tiers])
    proposed_side = side(lambda: [(None, proposed)],
                         [thresholds.get(t.key, t.threshold) for t in tiers])  # fmt: skip

    # Months of the window, local time.
    first_month = add_months(timezone.localtime(now), -months + 1).replace(day=1)
    labels = [add_months(first_month, k).strftime("%Y-%m") for k in range(months)]
    month_of = np.zeros(len(ids), dtype=np.int64)
    if len(ids):
        local_days = day.astype("datetime64[D]")
        as_months = local_days.astype("datetime64[M]").astype(np.int64)
        base = np.datetime64(first_month.strftime("%Y-%m"), "M").astype(np.int64)
        month_of = np.clip(as_months - base, 0, months - 1)

    members = Member.objects.count()
    member_customers = np.array(
        Member.objects.values_list("customer_id", flat=True), dtype=np.int64
    )
    idle_members = int((~np.isin(member_customers, unique_customers)).sum())
    liability = Member.objects.filter(balance__gt=0).aggregate(n=Sum("balance"))["n"] or 0

    def figures(result) -> dict:
        per_month = np.bincount(month_of, weights=result["points"], minlength=months)
        counts = np.bincount(result["tiers"] + 1, minlength=len(tiers) + 1)
        distribution = {key: int(counts[i + 1]) for i, key in enumerate(tier_keys)}
        if tiers:  # members without orders in the last year stay in the lowest tier
            lowest = next((t.key for t in tiers if t.threshold <= 0), None)
            if lowest:
                distribution[lowest] += idle_members
        return {"points": int(result["points"].sum()),
                "per_month": [int(x) for x in per_month],
                "tiers": distribution}  # fmt: skip

    now_side, new_side = figures(current), figures(proposed_side)
    now_side["liability"] = int(liability)
    new_side["liability"] = max(int(liability) + new_side["points"] - now_side["points"], 0)
    difference = new_side["points"] - now_side["points"]
    return {
        "months": months, "since": start.isoformat(), "until": now.isoformat(),
        "orders": int(in_window.sum()), "customers": int(len(np.unique(customers[in_window]))),
        "members": members, "month_labels": labels, "tier_keys": tier_keys,
        "current": now_side, "proposed": new_side,
        "difference": {"points": difference,
                       "share": difference / now_side["points"] if now_side["points"] else None},
        "seconds": round(time.perf_counter() - started, 3),
    }  # fmt: skip
