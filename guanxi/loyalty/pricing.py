"""The points of many orders at once, with numpy: the same arithmetic as `rules.order_points`,
in whole numbers, so a bulk award of history and a backtest over ten million orders give
exactly what the orders would have earned one by one (tests/test_pricing.py compares them
on random orders).

Amounts are in cents, the base rate and factors in ten-thousandths, so every product is a
whole number of 10⁻¹⁰ points before rounding; nothing is a float.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from .choices import BonusEvent, Rounding
from .rules import Compiled

SCALE_RATE = 10_000  # rate and factors in 1e-4
UNIT = 100 * SCALE_RATE * SCALE_RATE  # cents × rate × factor → points
EPOCH = dt.date(1970, 1, 1)


def _scaled(value: Decimal) -> int:
    scaled = Decimal(value) * SCALE_RATE
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{value} has more than four decimals")
    return int(scaled)


def day_number(day: dt.date) -> int:
    return (day - EPOCH).days


@dataclass
class OrderArrays:
    """Orders as columns (one entry per order). `day` is the local day number since
    1970-01-01; `categories` maps a multiplier rule's name to the cents of each order's
    positive lines in its categories (only rules with categories)."""

    cents: np.ndarray
    day: np.ndarray
    channel: np.ndarray  # index into SalesChannel.values, −1 for unknown
    tier: np.ndarray  # index into `tier_keys`, −1 for none
    first: np.ndarray  # bool
    categories: dict[str, np.ndarray]

    def __len__(self):
        return len(self.cents)

    def take(self, index: np.ndarray) -> OrderArrays:
        return OrderArrays(
            self.cents[index], self.day[index], self.channel[index], self.tier[index],
            self.first[index], {k: v[index] for k, v in self.categories.items()},
        )  # fmt: skip


def _round(units: np.ndarray, rounding: str) -> np.ndarray:
    if rounding == Rounding.DOWN:
        return np.floor_divide(units, UNIT)
    if rounding == Rounding.UP:
        return -np.floor_divide(-units, UNIT)
    return np.floor_divide(units + UNIT // 2, UNIT)


def price(
    version: Compiled,
    orders: OrderArrays,
    *,
    channels: list[str],
    tier_keys: list[str],
    tier_multipliers: list[Decimal],
) -> np.ndarray:
    """The points each order earns by `version` (int64), as `order_points` gives them."""
    n = len(orders)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    rate = _scaled(version.base_rate)
    cents = orders.cents.astype(np.int64)
    positive = cents > 0
    # Magnitudes stay far inside int64 for real orders; refuse rather than wrap around.
    largest_factor = max([_scaled(Decimal(1) + r["_extra"]) for r in version.multipliers]
                         + [_scaled(m) for m in tier_multipliers] + [SCALE_RATE])  # fmt: skip
    if int(cents.max(initial=0)) * rate * largest_factor * (len(version.multipliers) + 2) > 2**62:
        raise OverflowError("amounts too large for exact pricing")
    base = cents * rate * SCALE_RATE  # 1e-10 points
    total = base.copy()
    weekday = (orders.day + 3) % 7 + 1  # 1970-01-01 was a Thursday (ISO 4)
    stopped = np.zeros(n, dtype=bool)
    for rule in version.multipliers:
        match = positive & ~stopped
        if rule["_from"] is not None:
            match &= orders.day >= day_number(rule["_from"])
        if rule["_until"] is not None:
            match &= orders.day <= day_number(rule["_until"])
        if rule["_days"]:
            match &= np.isin(weekday, sorted(rule["_days"]))
        if rule["_channels"]:
            codes = [channels.index(c) for c in rule["_channels"] if c in channels]
            match &= np.isin(orders.channel, codes)
        if rule["_tiers"]:
            codes = [tier_keys.index(t) for t in rule["_tiers"] if t in tier_keys]
            match &= np.isin(orders.tier, codes)
        if rule["_categories"]:
            matched = orders.categories.get(rule["name"])
            matched = np.zeros(n, dtype=np.int64) if matched is None else matched.astype(np.int64)
            match &= matched > 0
        else:
            matched = cents
        extra_factor = _scaled(rule["_extra"])
        extra = np.where(match, matched * rate * extra_factor, 0)
        if rule.get("cap") is not None:
            extra = np.minimum(extra, int(rule["cap"]) * UNIT)
        total += extra
        if rule.get("stop"):
            stopped |= match
    if tier_multipliers:
        extras = np.array([_scaled(m) - SCALE_RATE for m in tier_multipliers] + [0], dtype=np.int64)
        tier_extra = extras[orders.tier]  # −1 (no tier) reads the appended 0
        total += np.where(positive, cents * rate * tier_extra, 0)
    points = np.maximum(_round(total, version.rounding), 0)
    bonus = np.zeros(n, dtype=np.int64)
    for rule in version.bonuses:
        if rule["event"] != BonusEvent.FIRST_ORDER:
            continue
        match = orders.first & positive
        if rule["_from"] is not None:
            match &= orders.day >= day_number(rule["_from"])
        if rule["_until"] is not None:
            match &= orders.day <= day_number(rule["_until"])
        bonus += np.where(match, int(rule["points"]), 0)
    points = np.where(positive, points + bonus, 0)
    if version.order_cap is not None:
        points = np.minimum(points, version.order_cap)
    return points
