"""The loyalty program in words for the staff pages: earning rules, caps and tier benefits,
in the viewer's language."""

import re
from decimal import Decimal

from django.utils.translation import get_language, gettext, ngettext
from django.utils.translation import gettext_lazy as _

from guanxi.core.charts import money

from ..choices import BonusEvent, Period, QualifyBy
from ..models import LoyaltyProgram

COLOUR = re.compile(r"#[0-9a-fA-F]{3,8}")
WEEKDAYS = {1: _("Mon"), 2: _("Tue"), 3: _("Wed"), 4: _("Thu"), 5: _("Fri"), 6: _("Sat"),
            7: _("Sun")}  # fmt: skip


def colour(value: str) -> str:
    """A tier's colour for a style attribute: a hex colour, or grey."""
    return value if COLOUR.fullmatch(value or "") else "#9ca3af"


def _english() -> bool:
    return (get_language() or "").startswith("en")


def rule_name(rule: dict) -> str:
    return (rule.get("name_en") if _english() else "") or rule.get("name") or "—"


def _number(value) -> str:
    """2 for 2.0, 1.5 for 1.50."""
    return f"{Decimal(str(value)).normalize():f}"


def _once_per(limit, per) -> str:
    """“once”, “once a year”, “at most 3 times a month”; "" when there is no limit."""
    if not limit:
        return ""
    per = per or Period.EVER
    if limit == 1:
        return {
            Period.DAY: gettext("once a day"), Period.WEEK: gettext("once a week"),
            Period.MONTH: gettext("once a month"), Period.YEAR: gettext("once a year"),
        }.get(per, gettext("once"))  # fmt: skip
    times = {
        Period.DAY: ngettext("at most %(n)s time a day", "at most %(n)s times a day", limit),
        Period.WEEK: ngettext("at most %(n)s time a week", "at most %(n)s times a week", limit),
        Period.MONTH: ngettext("at most %(n)s time a month", "at most %(n)s times a month",
                               limit),
        Period.YEAR: ngettext("at most %(n)s time a year", "at most %(n)s times a year", limit),
    }.get(per, ngettext("at most %(n)s time", "at most %(n)s times", limit))  # fmt: skip
    return times % {"n": limit}


def rule_sentence(rule: dict, tiers: dict[str, str] | None = None) -> str:
    """“Weekend double ×2 on Sat, Sun”, “Tea ×3 on category 茶叶”, “First order +100 points,
    once”."""
    name = rule_name(rule)
    if rule.get("kind") == "bonus":
        text = gettext("%(name)s +%(points)s points") % {"name": name, "points": rule.get("points")}
        once = _once_per(rule.get("limit"), rule.get("per"))
        return f"{text}, {once}" if once else text
    factor = _number(rule.get("factor") or 1)
    # A name such as "Tea ×3" already says its factor.
    says_factor = re.search(rf"[×x]\s*{re.escape(factor)}(?![\d.])", name)
    parts = [name if says_factor else f"{name} ×{factor}"]
    days = [str(WEEKDAYS[d]) for d in sorted(rule.get("weekdays") or []) if d in WEEKDAYS]
    if days:
        parts.append(gettext("on %(days)s") % {"days": ", ".join(days)})
    categories = rule.get("categories") or []
    if categories:
        parts.append(
            ngettext("on category %(names)s", "on categories %(names)s", len(categories))
            % {"names": ", ".join(categories)}
        )
    channels = rule.get("channels") or []
    if channels:
        from guanxi.orders.choices import SalesChannel

        labels = dict(SalesChannel.choices)
        parts.append(
            gettext("through %(channels)s")
            % {"channels": ", ".join(str(labels.get(c, c)) for c in channels)}
        )
    tier_keys = rule.get("tiers") or []
    if tier_keys:
        names = ", ".join((tiers or {}).get(k, k) for k in tier_keys)
        parts.append(gettext("for %(tiers)s members") % {"tiers": names})
    return " ".join(parts)


def rule_event(rule: dict) -> str:
    if rule.get("kind") != "bonus":
        return ""
    event = rule.get("event")
    return str(BonusEvent(event).label) if event in BonusEvent.values else str(event or "")


def rule_window(rule: dict) -> str:
    start, end = rule.get("valid_from"), rule.get("valid_until")
    if start and end:
        return gettext("%(start)s to %(end)s") % {"start": start, "end": end}
    if start:
        return gettext("from %(start)s") % {"start": start}
    if end:
        return gettext("until %(end)s") % {"end": end}
    return gettext("always")


def rule_cap(rule: dict) -> str:
    if rule.get("kind") == "multiplier" and rule.get("cap") is not None:
        return gettext("at most %(n)s extra points an order") % {"n": f"{rule['cap']:,}"}
    return "—"


def rules_in_words(rules: list, tiers: dict[str, str] | None = None) -> list[dict]:
    """Each rule as a row: its sentence, event, validity, priority, stop and cap."""
    return [
        {
            "sentence": rule_sentence(rule, tiers),
            "kind": rule.get("kind"),
            "event": rule_event(rule),
            "window": rule_window(rule),
            "priority": rule.get("priority") or 0,
            "stop": bool(rule.get("stop")),
            "cap": rule_cap(rule),
        }
        for rule in sorted(rules or [], key=lambda r: -int(r.get("priority") or 0))
    ]


def rate_text(version) -> str:
    rate = _number(version.base_rate)
    return ngettext("%(n)s point per yuan", "%(n)s points per yuan",
                    2 if rate != "1" else 1) % {"n": rate}  # fmt: skip


def period_cap_text(n: int, period: str) -> str:
    n_text = f"{n:,}"
    return {
        Period.DAY: gettext("%(n)s a day"), Period.WEEK: gettext("%(n)s a week"),
        Period.MONTH: gettext("%(n)s a month"), Period.YEAR: gettext("%(n)s a year"),
    }.get(period, gettext("%(n)s in all")) % {"n": n_text}  # fmt: skip


def caps_text(version) -> str:
    caps = []
    if version.order_cap is not None:
        caps.append(gettext("%(n)s an order") % {"n": f"{version.order_cap:,}"})
    if version.period_cap is not None:
        caps.append(period_cap_text(version.period_cap, version.period))
    return " · ".join(caps) if caps else gettext("no cap")


def benefits_text(benefits: dict) -> list[str]:
    """A tier's benefits as short phrases."""
    out = []
    multiplier = benefits.get("multiplier")
    if multiplier not in (None, "", 1, "1"):
        out.append(gettext("×%(m)s points") % {"m": _number(multiplier)})
    if benefits.get("discount_pct"):
        out.append(gettext("%(p)s%% off") % {"p": _number(benefits["discount_pct"])})
    if benefits.get("free_shipping"):
        out.append(gettext("free shipping"))
    if benefits.get("dedicated_manager"):
        out.append(gettext("dedicated account manager"))
    if benefits.get("birthday_gift"):
        out.append(gettext("birthday: %(gift)s") % {"gift": benefits["birthday_gift"]})
    return out


def threshold_text(value, program: LoyaltyProgram | None = None) -> str:
    """A tier's threshold: whole points, or whole yuan unless it has fen."""
    program = program or LoyaltyProgram.current()
    if program.qualify_by == QualifyBy.POINTS:
        return ngettext("%(n)s point", "%(n)s points", int(value)) % {"n": f"{value:,.0f}"}
    return f"¥{value:,.0f}" if value == value.to_integral_value() else money(value)
