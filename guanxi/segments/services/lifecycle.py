"""Lifecycle stages that move by themselves, and the churn early warning.

On an order (in its transaction): new → active on a repeat order; at risk or churned →
active on an order placed after the warning (a win-back). Once a day (`lifecycle_run`):
new/active → at risk when there has been no order for N days or P(alive) is below the
threshold; at risk → churned after M days without an order. Every move goes through
`customers_stage_move` (stage change with its cause, timeline, audit). An at-risk customer
gets a `ChurnCase` with its reasons and the value at risk; the owner is alerted in the app
and by email and given a win-back task.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import transaction
from django.db.models import Count, Max, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from guanxi.accounts import access
from guanxi.core.errors import Errors
from guanxi.customers.choices import Stage
from guanxi.customers.models import Customer
from guanxi.customers.services.stages import customers_stage_move

from .. import definition as rules
from ..choices import ChurnReason, ChurnStatus
from ..models import ChurnCase, LifecycleSettings

YEAR = dt.timedelta(days=365)
DIGEST_FROM = 10  # more new warnings than this for one owner come as one notification


def _revenue_orders():
    from guanxi.orders.selectors import revenue_order_rows

    return revenue_order_rows()


def lifecycle_on_order(*, customer_id: int, now=None) -> str | None:
    """Move one customer's stage after an order; returns the new stage if it moved."""
    settings = LifecycleSettings.current()
    if not settings.enabled:
        return None
    row = Customer.objects.filter(pk=customer_id).values("stage", "stage_changed_at").first()
    if row is None or row["stage"] in (Stage.TERMINATED, Stage.LEAD):
        return None
    orders = _revenue_orders().filter(customer_id=customer_id)
    stats = orders.aggregate(n=Count("id"), last=Max("ordered_at"))
    if not stats["n"]:
        return None
    stage = row["stage"]
    now = now or timezone.now()
    last = orders.order_by("-ordered_at", "-id").values("number", "ordered_at").first()
    if stage == Stage.NEW and stats["n"] >= 2:
        cause = _("repeat order %(number)s") % {"number": last["number"]}
        customers_stage_move(moves=[(customer_id, Stage.ACTIVE, cause)], now=now)
        return Stage.ACTIVE
    if stage in (Stage.AT_RISK, Stage.CHURNED):
        case = ChurnCase.objects.filter(customer_id=customer_id, closed_at__isnull=True).first()
        since = case.opened_at if case else row["stage_changed_at"]
        if since is not None and last["ordered_at"] < since:
            return None  # an old order recorded late is not a win-back
        cause = _("win-back: order %(number)s") % {"number": last["number"]}
        customers_stage_move(moves=[(customer_id, Stage.ACTIVE, cause)], now=now)
        if case is not None:
            ChurnCase.objects.filter(pk=case.pk).update(status=ChurnStatus.WON_BACK, closed_at=now)
        return Stage.ACTIVE
    return None


def _ids(definition: dict, now) -> set[int]:
    stored = rules.validate(definition)
    q = rules.compile_definition(stored, rules.Context(now=now))
    return set(Customer.objects.filter(q).values_list("pk", flat=True))


def _spend(ids: list[int], now) -> dict[int, tuple[Decimal, Decimal, dt.datetime | None]]:
    """(spend in the last 12 months, in the 12 before, last order) per customer."""
    out = {}
    for start in range(0, len(ids), 5000):
        chunk = ids[start : start + 5000]
        rows = (
            _revenue_orders()
            .filter(customer_id__in=chunk)
            .values("customer_id")
            .annotate(
                recent=Sum("total", filter=Q(ordered_at__gte=now - YEAR)),
                before=Sum(
                    "total", filter=Q(ordered_at__gte=now - 2 * YEAR, ordered_at__lt=now - YEAR)
                ),
                last=Max("ordered_at"),
            )
        )
        for r in rows:
            out[r["customer_id"]] = (
                r["recent"] or Decimal(0),
                r["before"] or Decimal(0),
                r["last"],
            )
    return out


def _values(ids: list[int]) -> dict[int, tuple[float | None, Decimal | None]]:
    from guanxi.analytics.selectors import customer_value_rows

    out = {}
    for start in range(0, len(ids), 5000):
        rows = customer_value_rows().filter(customer_id__in=ids[start : start + 5000])
        for cid, p, clv in rows.values_list("customer_id", "p_alive", "lifetime_value"):
            out[cid] = (p, clv)
    return out


def lifecycle_run_daily(*, now=None) -> dict | None:
    """The daily run of the time-based rules (the scheduler asks hourly)."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    settings = LifecycleSettings.current()
    if not settings.enabled or settings.last_run_on == today:
        return None
    return lifecycle_run(now=now)


def lifecycle_run(*, now=None) -> dict:
    """Move stages by the time-based rules and open churn warnings (set-based)."""
    settings = LifecycleSettings.current()
    now = now or timezone.now()
    if not settings.enabled:
        return {"at_risk": 0, "churned": 0, "alerts": 0}
    caught_up = _catch_up(now)
    working = {"field": "stage", "op": "in", "value": [Stage.NEW, Stage.ACTIVE]}
    no_order = _ids(
        {"all": [working, {"field": "orders.days_since_last", "op": "gte",
                           "value": settings.at_risk_days}]},
        now,
    )  # fmt: skip
    low_p = set()
    if settings.at_risk_p_alive is not None:
        low_p = _ids(
            {"all": [working, {"field": "value.p_alive", "op": "lt",
                               "value": settings.at_risk_p_alive}]},
            now,
        )  # fmt: skip
    at_risk = sorted(no_order | low_p)
    churned = sorted(
        _ids(
            {"all": [
                {"field": "stage", "op": "eq", "value": Stage.AT_RISK},
                {"field": "orders.days_since_last", "op": "gte", "value": settings.churned_days},
            ]},
            now,
        )
    )  # fmt: skip
    spend = _spend(at_risk, now)
    values = _values(at_risk)
    cases, moves = [], []
    for cid in at_risk:
        recent, before, last = spend.get(cid, (Decimal(0), Decimal(0), None))
        p, clv = values.get(cid, (None, None))
        reasons = []
        if cid in no_order:
            days = (now - last).days if last else None
            reasons.append({"rule": ChurnReason.NO_ORDER, "days": days,
                            "threshold": settings.at_risk_days})  # fmt: skip
        if cid in low_p:
            reasons.append({"rule": ChurnReason.P_ALIVE, "p_alive": round(p, 4),
                            "threshold": settings.at_risk_p_alive})  # fmt: skip
        if before > 0 and recent <= before * Decimal(str(1 - settings.spend_drop)):
            drop = float(1 - recent / before)
            reasons.append({"rule": ChurnReason.SPEND_DROP, "drop": round(drop, 4),
                            "recent": str(recent), "before": str(before)})  # fmt: skip
        at_stake = clv if clv is not None and clv > recent else recent
        cases.append(
            ChurnCase(
                customer_id=cid,
                opened_at=now,
                reasons=reasons,
                p_alive=p,
                last_order_at=last,
                spend_recent=recent,
                spend_before=before,
                value_at_risk=at_stake or Decimal(0),
            )
        )
        moves.append((cid, Stage.AT_RISK, _cause(reasons)))
    with transaction.atomic():
        moved = customers_stage_move(moves=moves, now=now)
        # A customer may already have a warning (moved back by hand, say): keep that one.
        open_ids = set(
            ChurnCase.objects.filter(customer_id__in=at_risk, closed_at__isnull=True).values_list(
                "customer_id", flat=True
            )
        )
        new_cases = [c for c in cases if c.customer_id not in open_ids]
        ChurnCase.objects.bulk_create(new_cases, batch_size=2000)
        lapsed = customers_stage_move(
            moves=[
                (cid, Stage.CHURNED,
                 _("no order for %(n)d days") % {"n": settings.churned_days})
                for cid in churned
            ],
            now=now,
        )  # fmt: skip
        ChurnCase.objects.filter(
            customer_id__in=churned, closed_at__isnull=True, status=ChurnStatus.OPEN
        ).update(status=ChurnStatus.LAPSED)
        alerts = _alert(new_cases, settings, now)
        if settings.pk:
            LifecycleSettings.objects.filter(pk=settings.pk).update(
                last_run_on=timezone.localdate(now)
            )
    return {"at_risk": moved, "churned": lapsed, "alerts": alerts, **caught_up}


def _catch_up(now) -> dict:
    """The order rules for orders that came in bulk (imports), set-based: leads with an
    order become new, new customers with a repeat order active, and warned customers with
    an order after the warning active again (won back)."""
    first = _ids(
        {"all": [{"field": "stage", "op": "eq", "value": Stage.LEAD},
                 {"field": "orders.count", "op": "eq", "value": 1}]},
        now,
    )  # fmt: skip
    repeat = _ids(
        {"all": [{"field": "stage", "op": "in", "value": [Stage.LEAD, Stage.NEW]},
                 {"field": "orders.count", "op": "gte", "value": 2}]},
        now,
    )  # fmt: skip
    open_cases = dict(
        ChurnCase.objects.filter(closed_at__isnull=True).values_list("customer_id", "opened_at")
    )
    warned = Customer.objects.filter(
        stage__in=[Stage.AT_RISK, Stage.CHURNED], pk__in=list(open_cases)
    ).values_list("pk", flat=True)
    last = dict(
        _revenue_orders()
        .filter(customer_id__in=list(warned))
        .values("customer_id")
        .annotate(last=Max("ordered_at"))
        .values_list("customer_id", "last")
    )
    back = sorted(cid for cid, at in last.items() if at >= open_cases[cid])
    moves = [(cid, Stage.NEW, _("first order")) for cid in sorted(first)]
    moves += [(cid, Stage.ACTIVE, _("repeat order")) for cid in sorted(repeat)]
    moves += [(cid, Stage.ACTIVE, _("win-back")) for cid in back]
    with transaction.atomic():
        customers_stage_move(moves=moves, now=now)
        ChurnCase.objects.filter(customer_id__in=back, closed_at__isnull=True).update(
            status=ChurnStatus.WON_BACK, closed_at=now
        )
    return {"new": len(first), "active": len(repeat), "won_back": len(back)}


def _cause(reasons: list[dict]) -> str:
    parts = []
    for r in reasons:
        if r["rule"] == ChurnReason.NO_ORDER:
            parts.append(_("no order for %(n)s days") % {"n": r["days"] or r["threshold"]})
        elif r["rule"] == ChurnReason.P_ALIVE:
            parts.append(_("P(alive) %(p).2f") % {"p": r["p_alive"]})
        elif r["rule"] == ChurnReason.SPEND_DROP:
            parts.append(_("spend down %(d).0f%%") % {"d": r["drop"] * 100})
    return "; ".join(parts)


def reason_text(reason: dict) -> str:
    """One reason of a churn warning in words (the viewer's language)."""
    rule = reason.get("rule")
    if rule == ChurnReason.NO_ORDER:
        return _("No order for %(n)s days (rule: %(t)s)") % {
            "n": reason.get("days") if reason.get("days") is not None else "—",
            "t": reason.get("threshold"),
        }
    if rule == ChurnReason.P_ALIVE:
        return _("P(alive) %(p).2f, below %(t)s") % {
            "p": reason.get("p_alive", 0),
            "t": reason.get("threshold"),
        }
    if rule == ChurnReason.SPEND_DROP:
        return _("Spend down %(d).0f%% (12 months: %(recent)s, the 12 before: %(before)s)") % {
            "d": reason.get("drop", 0) * 100,
            "recent": reason.get("recent"),
            "before": reason.get("before"),
        }
    return str(rule)


def _alert(cases: list[ChurnCase], settings: LifecycleSettings, now) -> int:
    """Tell each owner about their newly at-risk customers and give them win-back tasks."""
    if not cases or not (settings.alert_owner or settings.winback_task):
        return 0
    from django.urls import reverse

    ids = [c.customer_id for c in cases]
    owners = dict(
        Customer.objects.filter(pk__in=ids, owner__isnull=False).values_list("pk", "owner_id")
    )
    names = dict(Customer.objects.filter(pk__in=ids).values_list("pk", "name"))
    if settings.winback_task:
        from guanxi.interactions.services import tasks_bulk_create

        task_ids = tasks_bulk_create(
            tasks=[
                {
                    "customer_id": c.customer_id,
                    "owner_id": owners[c.customer_id],
                    "title": _("Win back %(name)s") % {"name": names.get(c.customer_id, "")},
                    "description": _cause(c.reasons),
                    "due_at": now + dt.timedelta(days=settings.task_due_days),
                    "priority": "high",
                }
                for c in cases
                if c.customer_id in owners
            ]
        )
        stored = {
            c.customer_id: c.pk
            for c in ChurnCase.objects.filter(customer_id__in=ids, closed_at__isnull=True)
        }
        for cid, task_id in task_ids.items():
            ChurnCase.objects.filter(pk=stored[cid]).update(task_id=task_id)
    if not settings.alert_owner:
        return 0
    from guanxi.notifications.services import notify

    by_owner: dict[int, list[ChurnCase]] = {}
    for c in cases:
        if c.customer_id in owners:
            by_owner.setdefault(owners[c.customer_id], []).append(c)
    sent = 0
    warnings_url = reverse("admin:segments_churncase_changelist")
    for owner_id, owned in by_owner.items():
        if len(owned) > DIGEST_FROM:
            notify(
                recipients=[owner_id],
                kind="churn_risk",
                title=gettext_noop("%(n)s of your customers are at risk of churning"),
                params={"n": len(owned)},
                url=warnings_url,
            )
            sent += 1
            continue
        for c in owned:
            notify(
                recipients=[owner_id],
                kind="churn_risk",
                title=gettext_noop("%(name)s is at risk of churning"),
                params={
                    "name": names.get(c.customer_id, ""),
                    "value": str(c.value_at_risk),
                    "why": _cause(c.reasons),
                },
                body=gettext_noop("Value at risk: %(value)s. %(why)s"),
                url=reverse("admin:customers_customer_change", args=[c.customer_id]),
                customer_id=c.customer_id,
            )
            sent += 1
    return sent


def lifecycle_settings_update(*, actor, data: dict) -> LifecycleSettings:
    """Change when stages move and what a churn warning sets off (admins)."""
    access.require(actor, "segment.configure")
    from django.core.exceptions import ValidationError

    settings = LifecycleSettings.current()
    errors = Errors()
    fields = {f.name: f for f in LifecycleSettings._meta.concrete_fields}
    for key, value in data.items():
        if key not in fields or key in ("id", "updated_at"):
            errors.add(key, _("Unknown setting."))
            continue
        try:
            setattr(settings, key, fields[key].clean(value, settings))
        except ValidationError as e:
            for m in e.messages:
                errors.add(key, m)
    errors.raise_if_any()
    if settings.churned_days <= settings.at_risk_days:
        errors.add("churned_days", _("Churned must come after at risk (more days)."))
    errors.raise_if_any()
    settings.save()
    return settings
