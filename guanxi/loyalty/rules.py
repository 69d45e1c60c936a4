"""Earning rules as data: their JSON shape, validation, and the points an order earns.

A version holds a base rate (points per yuan), a rounding, caps, and a list of rules:

    {"name": "周末双倍", "name_en": "Weekend double", "kind": "multiplier", "factor": 2,
     "weekdays": [6, 7], "categories": [], "channels": [], "tiers": [],
     "valid_from": "2026-01-01", "valid_until": null, "priority": 10, "stop": false,
     "cap": null}
    {"name": "首单奖励", "kind": "bonus", "event": "first_order", "points": 100,
     "limit": 1, "per": "ever"}

Multipliers add up rather than multiply: each matching multiplier adds (factor − 1) × the
base points of what it matches (the whole order, or the lines of its categories), at most
its `cap` a order. "Weekend ×2" and "tea ×3" give a tea line on a Saturday 1 + 1 + 2 = 4
points per yuan. Rules are tried by priority, highest first; a matching rule with `stop`
ends the multipliers after it. The tier's own multiplier (its benefits) adds the same way.
A bonus gives fixed points on an event: the member's first order, their birthday, a daily
sign-in, a referral that bought (to the referrer; `referred` to the new customer), a survey
answered; `limit` times `per` day / week / month / year / ever.

`order_points` is a pure function, the same for one order, a bulk award of history and a
backtest, so the three can never disagree.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal, InvalidOperation

from django.utils.translation import gettext as _

from guanxi.core.errors import Errors

from .choices import BonusEvent, Period, Rounding

ROUNDINGS = {
    Rounding.DOWN: ROUND_FLOOR,
    Rounding.NEAREST: ROUND_HALF_UP,
    Rounding.UP: ROUND_CEILING,
}
KINDS = ("multiplier", "bonus")
LIST_KEYS = ("weekdays", "categories", "channels", "tiers")
KNOWN_KEYS = {
    "name", "name_en", "kind", "factor", "points", "event", "valid_from", "valid_until",
    "priority", "stop", "cap", "limit", "per", *LIST_KEYS,
}  # fmt: skip
MAX_RULES = 100


def _date(value, where: str, errors: Errors) -> dt.date | None:
    if value in (None, ""):
        return None
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        errors.add(where, _("Not a date (YYYY-MM-DD): %(value)s") % {"value": value})
        return None


def _positive_int(value, where: str, errors: Errors, *, allow_none=True) -> int | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        errors.add(where, _("Must be a whole number of 0 or more."))
        return None
    return value


def validate_rules(rules, *, prefix: str = "rules") -> list[dict]:
    """The rules cleaned, or ValidationFailed naming each problem by its place
    (`rules[2].factor`)."""
    errors = Errors()
    if not isinstance(rules, list):
        errors.add(prefix, _("Must be a list of rules."))
        errors.raise_if_any()
    if len(rules) > MAX_RULES:
        errors.add(prefix, _("At most %(n)s rules.") % {"n": MAX_RULES})
    from guanxi.orders.choices import SalesChannel

    from .models import LoyaltyTier

    tier_keys = set(LoyaltyTier.objects.values_list("key", flat=True))
    cleaned = []
    for i, rule in enumerate(rules):
        at = f"{prefix}[{i}]"
        if not isinstance(rule, dict):
            errors.add(at, _("Must be an object."))
            continue
        for key in sorted(set(rule) - KNOWN_KEYS):
            errors.add(f"{at}.{key}", _("Unknown key."))
        out = {"name": str(rule.get("name") or "").strip()[:100],
               "name_en": str(rule.get("name_en") or "").strip()[:100]}  # fmt: skip
        if not out["name"]:
            errors.add(f"{at}.name", _("A rule needs a name."))
        kind = rule.get("kind")
        if kind not in KINDS:
            errors.add(f"{at}.kind", _("Must be “multiplier” or “bonus”."))
            continue
        out["kind"] = kind
        priority = rule.get("priority", 0)
        if isinstance(priority, bool) or not isinstance(priority, int):
            errors.add(f"{at}.priority", _("Must be a whole number."))
            priority = 0
        out["priority"] = priority
        out["valid_from"] = _date(rule.get("valid_from"), f"{at}.valid_from", errors)
        out["valid_until"] = _date(rule.get("valid_until"), f"{at}.valid_until", errors)
        if out["valid_from"] and out["valid_until"] and out["valid_until"] < out["valid_from"]:
            errors.add(f"{at}.valid_until", _("Ends before it starts."))
        for key in ("valid_from", "valid_until"):
            out[key] = out[key].isoformat() if out[key] else None
        if kind == "multiplier":
            try:
                factor = Decimal(str(rule.get("factor")))
                if not factor.is_finite() or factor <= 0 or factor > 100:
                    raise InvalidOperation
                out["factor"] = str(factor)
            except (InvalidOperation, ValueError):
                errors.add(f"{at}.factor", _("Must be a number above 0 and at most 100."))
            for key in LIST_KEYS:
                values = rule.get(key) or []
                if not isinstance(values, list):
                    errors.add(f"{at}.{key}", _("Must be a list."))
                    values = []
                out[key] = values
            for day in out["weekdays"]:
                if day not in range(1, 8) or isinstance(day, bool):
                    errors.add(f"{at}.weekdays", _("Days are 1 (Monday) to 7 (Sunday)."))
                    break
            out["categories"] = [str(c).strip() for c in out["categories"] if str(c).strip()]
            for channel in out["channels"]:
                if channel not in SalesChannel.values:
                    errors.add(
                        f"{at}.channels", _("Unknown channel: %(value)s") % {"value": channel}
                    )
            for tier in out["tiers"]:
                if tier not in tier_keys:
                    errors.add(f"{at}.tiers", _("Unknown tier: %(value)s") % {"value": tier})
            out["stop"] = bool(rule.get("stop", False))
            out["cap"] = _positive_int(rule.get("cap"), f"{at}.cap", errors)
        else:
            event = rule.get("event")
            if event not in BonusEvent.values:
                errors.add(
                    f"{at}.event",
                    _("Must be one of: %(values)s") % {"values": ", ".join(BonusEvent.values)},
                )
            out["event"] = event
            out["points"] = _positive_int(rule.get("points"), f"{at}.points", errors,
                                          allow_none=False)  # fmt: skip
            out["limit"] = _positive_int(rule.get("limit"), f"{at}.limit", errors)
            per = rule.get("per") or Period.EVER
            if per not in Period.values:
                errors.add(
                    f"{at}.per",
                    _("Must be one of: %(values)s") % {"values": ", ".join(Period.values)},
                )
            out["per"] = per
        cleaned.append(out)
    errors.raise_if_any()
    return cleaned


@dataclass
class OrderInput:
    """What the rules look at in an order (local time of the order)."""

    total: Decimal
    at: dt.datetime
    channel: str = ""
    lines: list[tuple[str, Decimal]] = field(default_factory=list)  # (category, amount)
    tier: str = ""
    tier_multiplier: Decimal = Decimal("1")
    first_order: bool = False


@dataclass
class Compiled:
    """A version ready to price orders: its rules sorted, dates parsed."""

    number: int
    base_rate: Decimal
    rounding: str
    order_cap: int | None
    period_cap: int | None
    period: str
    multipliers: list[dict]
    bonuses: list[dict]

    @classmethod
    def of(cls, version) -> Compiled:
        rules = sorted(version.rules or [], key=lambda r: -int(r.get("priority") or 0))
        parsed = []
        for rule in rules:
            r = dict(rule)
            r["_from"] = dt.date.fromisoformat(r["valid_from"]) if r.get("valid_from") else None
            r["_until"] = dt.date.fromisoformat(r["valid_until"]) if r.get("valid_until") else None
            if r["kind"] == "multiplier":
                r["_extra"] = Decimal(r["factor"]) - 1
                r["_days"] = set(r.get("weekdays") or ())
                r["_categories"] = set(r.get("categories") or ())
                r["_channels"] = set(r.get("channels") or ())
                r["_tiers"] = set(r.get("tiers") or ())
            parsed.append(r)
        return cls(
            number=version.number,
            base_rate=Decimal(version.base_rate),
            rounding=version.rounding,
            order_cap=version.order_cap,
            period_cap=version.period_cap,
            period=version.period or Period.MONTH,
            multipliers=[r for r in parsed if r["kind"] == "multiplier"],
            bonuses=[r for r in parsed if r["kind"] == "bonus"],
        )

    def round(self, value: Decimal) -> int:
        return int(value.to_integral_value(rounding=ROUNDINGS[self.rounding]))

    def bonuses_for(self, event: str, day: dt.date) -> list[dict]:
        return [r for r in self.bonuses if r["event"] == event and _in_force(r, day)]


def _in_force(rule: dict, day: dt.date) -> bool:
    return (rule["_from"] is None or rule["_from"] <= day) and (
        rule["_until"] is None or day <= rule["_until"]
    )


def order_points(version: Compiled, order: OrderInput) -> tuple[int, dict]:
    """The points an order earns by a version, and how (`detail`: base, each rule's extra,
    bonuses, caps applied). The base is the order's total; a category rule matches the
    positive lines of its categories."""
    if order.total <= 0:
        return 0, {}
    rate = version.base_rate
    base = order.total * rate
    day = order.at.date()
    weekday = order.at.isoweekday()
    extras: dict[str, Decimal] = {}
    total = base
    for rule in version.multipliers:
        if not _in_force(rule, day):
            continue
        if rule["_days"] and weekday not in rule["_days"]:
            continue
        if rule["_channels"] and order.channel not in rule["_channels"]:
            continue
        if rule["_tiers"] and order.tier not in rule["_tiers"]:
            continue
        if rule["_categories"]:
            matched = sum(
                (a for c, a in order.lines if a > 0 and c in rule["_categories"]), Decimal("0")
            )
            if not matched:
                continue
        else:
            matched = order.total
        extra = matched * rate * rule["_extra"]
        if rule.get("cap") is not None and extra > rule["cap"]:
            extra = Decimal(rule["cap"])
        extras[rule["name"]] = extra
        total += extra
        if rule.get("stop"):
            break
    if order.tier_multiplier != 1:
        extra = base * (order.tier_multiplier - 1)
        extras["tier"] = extra
        total += extra
    points = max(version.round(total), 0)
    bonus = 0
    if order.first_order:
        for rule in version.bonuses_for(BonusEvent.FIRST_ORDER, day):
            bonus += rule["points"]
    points += bonus
    detail = {"base": str(version.round(base)), "version": version.number}
    if extras:
        detail["extras"] = {k: str(version.round(v)) for k, v in extras.items()}
    if bonus:
        detail["bonus"] = bonus
    if version.order_cap is not None and points > version.order_cap:
        detail["capped_from"] = points
        points = version.order_cap
    return points, detail


def period_start(period: str, at: dt.datetime) -> dt.datetime | None:
    """The start of the period holding `at` (local time), or None for "ever"."""
    day = at.replace(hour=0, minute=0, second=0, microsecond=0)
    match period:
        case Period.DAY:
            return day
        case Period.WEEK:
            return day - dt.timedelta(days=day.weekday())
        case Period.MONTH:
            return day.replace(day=1)
        case Period.YEAR:
            return day.replace(month=1, day=1)
    return None
