"""The numpy pricing of many orders gives, order by order, exactly what `order_points`
gives one order: random rule sets and orders (hypothesis)."""

import datetime as dt
from decimal import Decimal

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from guanxi.loyalty.models import RuleVersion
from guanxi.loyalty.pricing import OrderArrays, day_number, price
from guanxi.loyalty.rules import Compiled, OrderInput, order_points

CHANNELS = ["online", "store", "wechat"]
TIERS = ["silver", "gold", "platinum"]
MULTIPLIERS = [Decimal("1"), Decimal("1.5"), Decimal("2")]
CATEGORIES = ["茶叶", "器具", "零食"]

factors = st.sampled_from(["0.5", "1.25", "2", "3", "1.1"])
days = st.integers(
    min_value=day_number(dt.date(2024, 1, 1)), max_value=day_number(dt.date(2026, 12, 31))
)


def some(values, most):
    """Mostly no condition, so that several rules often match one order (stop matters)."""
    return st.one_of(st.just([]), st.just([]), st.lists(values, min_size=1, max_size=most,
                                                        unique=True))  # fmt: skip


@st.composite
def a_rule(draw, i):
    if draw(st.booleans()):
        start = draw(st.none() | days)
        return {
            "name": f"m{i}", "kind": "multiplier", "factor": draw(factors),
            "priority": draw(st.integers(0, 5)), "stop": draw(st.booleans()),
            "weekdays": draw(some(st.integers(1, 7), 5)),
            "channels": draw(some(st.sampled_from(CHANNELS), 2)),
            "tiers": draw(some(st.sampled_from(TIERS), 2)),
            "categories": draw(some(st.sampled_from(CATEGORIES), 2)),
            "cap": draw(st.none() | st.integers(0, 300)),
            "valid_from": (dt.date(1970, 1, 1) + dt.timedelta(days=start)).isoformat()
            if start else None,
            "valid_until": None,
        }  # fmt: skip
    return {"name": f"b{i}", "kind": "bonus", "event": "first_order",
            "points": draw(st.integers(0, 200)), "priority": 0, "valid_from": None,
            "valid_until": None, "per": "ever", "limit": None}  # fmt: skip


@st.composite
def a_version(draw):
    rules = [draw(a_rule(i)) for i in range(draw(st.integers(0, 5)))]
    return RuleVersion(
        number=1, rules=rules, rounding=draw(st.sampled_from(["down", "nearest", "up"])),
        base_rate=Decimal(draw(st.sampled_from(["1", "0.1", "2.5", "0.0125"]))),
        order_cap=draw(st.none() | st.integers(0, 5000)),
    )  # fmt: skip


cents = st.integers(min_value=-500, max_value=2_000_000)
an_order = st.tuples(
    cents, days, st.integers(0, 2), st.integers(-1, 2), st.booleans(),
    st.lists(st.tuples(st.sampled_from(CATEGORIES), cents), max_size=4),
)  # fmt: skip


@settings(max_examples=300, deadline=None, database=None, derandomize=True)
@given(a_version(), st.lists(an_order, min_size=1, max_size=30))
def test_numpy_pricing_equals_one_order_pricing(version, orders):
    compiled = Compiled.of(version)
    one_by_one = []
    for total, day, channel, tier, first, lines in orders:
        at = dt.datetime(1970, 1, 1, 12) + dt.timedelta(days=day)
        points, _detail = order_points(compiled, OrderInput(
            total=Decimal(total) / 100, at=at, channel=CHANNELS[channel],
            lines=[(c, Decimal(a) / 100) for c, a in lines],
            tier=TIERS[tier] if tier >= 0 else "",
            tier_multiplier=MULTIPLIERS[tier] if tier >= 0 else Decimal("1"), first_order=first,
        ))  # fmt: skip
        one_by_one.append(points)
    categories = {
        r["name"]: np.array([sum(a for c, a in o[5] if a > 0 and c in r["_categories"])
                             for o in orders], dtype=np.int64)
        for r in compiled.multipliers if r["_categories"]
    }  # fmt: skip
    arrays = OrderArrays(
        cents=np.array([o[0] for o in orders], dtype=np.int64),
        day=np.array([o[1] for o in orders], dtype=np.int64),
        channel=np.array([o[2] for o in orders], dtype=np.int64),
        tier=np.array([o[3] for o in orders], dtype=np.int64),
        first=np.array([o[4] for o in orders], dtype=bool),
        categories=categories,
    )
    together = price(compiled, arrays, channels=CHANNELS, tier_keys=TIERS,
                     tier_multipliers=MULTIPLIERS)  # fmt: skip
    assert together.tolist() == one_by_one
