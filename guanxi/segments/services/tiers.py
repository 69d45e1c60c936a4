"""Value tiers: every customer sorted by a measure (annual spend, historical value or CLV)
into tiers by amounts or by percentiles; a monthly re-evaluation says who moved and why,
and a customer whose rolling annual spend rises by the set share is re-evaluated at once."""

from __future__ import annotations

import time
from decimal import Decimal

import numpy as np
from django.db import connection, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi.accounts import access
from guanxi.core.bulk import Inserter
from guanxi.core.errors import Errors, ValidationFailed
from guanxi.customers.choices import Stage
from guanxi.customers.models import Customer

from ..choices import EvaluationKind, TierMethod, TierMetric
from ..models import CustomerTier, Tier, TierEvaluation, TierMove, TierSettings

YEAR_DAYS = 365


def _money(x) -> str:
    return f"{Decimal(str(x)).quantize(Decimal('0.01')):,}"


def _measure(metric: str, now) -> tuple[np.ndarray, np.ndarray, dict[int, float]]:
    """(customer ids, their measure, annual spend by id) for every customer not terminated."""
    import datetime as dt

    from guanxi.orders.selectors import revenue_order_rows

    ids = np.fromiter(
        Customer.objects.exclude(stage=Stage.TERMINATED)
        .order_by("pk")
        .values_list("pk", flat=True),
        dtype=np.int64,
    )
    spend_rows = (
        revenue_order_rows()
        .filter(ordered_at__gte=now - dt.timedelta(days=YEAR_DAYS))
        .values("customer_id")
        .annotate(s=Sum("total"))
        .values_list("customer_id", "s")
        .order_by()
    )
    spend = {cid: float(s or 0) for cid, s in spend_rows}
    if metric == TierMetric.ANNUAL_SPEND:
        source = spend
    else:
        from guanxi.analytics.selectors import customer_value_rows

        source = {
            cid: float(v or 0)
            for cid, v in customer_value_rows().values_list("customer_id", metric).order_by()
        }
    values = np.fromiter((source.get(int(i), 0.0) for i in ids), dtype=np.float64, count=len(ids))
    return ids, values, spend


def _cuts(tiers: list[Tier], method: str, values: np.ndarray) -> dict[int, float | None]:
    """The amount each tier (but the last) starts from (None: nobody reaches it)."""
    cuts: dict[int, float] = {}
    if method == TierMethod.THRESHOLD:
        for t in tiers[:-1]:
            cuts[t.pk] = float(t.min_value or 0)
        return cuts
    positive = np.sort(values[values > 0])[::-1]
    share = 0.0
    for t in tiers[:-1]:
        share += t.top_share or 0
        if len(positive) == 0:
            cuts[t.pk] = None
            continue
        n = max(1, int(round(share * len(positive))))
        cuts[t.pk] = float(positive[min(n, len(positive)) - 1])
    return cuts


def _assign(tiers: list[Tier], cuts: dict[int, float], values: np.ndarray) -> np.ndarray:
    """The index (into `tiers`) of each customer's tier: the first whose start they reach."""
    out = np.full(len(values), len(tiers) - 1, dtype=np.int64)
    for i in range(len(tiers) - 2, -1, -1):
        cut = cuts[tiers[i].pk]
        if cut is not None:
            out[(values >= cut) & (values > 0)] = i
    return out


def _reason(tiers, i_new, i_old, value, cuts, metric_label) -> str:
    new = tiers[i_new]
    if i_new < len(tiers) - 1 and (i_old is None or i_new < i_old):
        return _("%(metric)s %(value)s reached %(tier)s's %(cut)s") % {
            "metric": metric_label,
            "value": _money(value),
            "tier": new.label,
            "cut": _money(cuts[new.pk]),
        }
    if i_old is not None and i_old < len(tiers) - 1:
        old = tiers[i_old]
        return _("%(metric)s %(value)s is below %(tier)s's %(cut)s") % {
            "metric": metric_label,
            "value": _money(value),
            "tier": old.label,
            "cut": _money(cuts[old.pk]),
        }
    return _("%(metric)s %(value)s") % {"metric": metric_label, "value": _money(value)}


def tiers_evaluate(*, actor=None, kind: str = EvaluationKind.MANUAL, now=None) -> TierEvaluation:
    """Sort every customer into a tier now; records who moved, from where to where, and why."""
    if actor is not None:
        access.require(actor, "segment.manage")
    started = time.perf_counter()
    now = now or timezone.now()
    settings = TierSettings.current()
    tiers = list(Tier.objects.order_by("rank", "pk"))
    if len(tiers) < 2:
        raise ValidationFailed(errors={"tiers": [_("Define at least two tiers.")]})
    ids, values, spend = _measure(settings.metric, now)
    cuts = _cuts(tiers, settings.method, values)
    new_idx = _assign(tiers, cuts, values)
    index_of = {t.pk: i for i, t in enumerate(tiers)}
    current = {
        cid: (tid, since, basis)
        for cid, tid, since, basis in CustomerTier.objects.values_list(
            "customer_id", "tier_id", "since", "basis"
        )
    }
    metric_label = str(TierMetric(settings.metric).label)
    moves, rows = [], []
    summary: dict[tuple, int] = {}
    up = down = 0
    for cid, value, i_new in zip(ids.tolist(), values.tolist(), new_idx.tolist(), strict=True):
        old = current.get(cid)
        i_old = index_of.get(old[0]) if old else None
        since = old[1] if old and i_old == i_new else now
        rows.append((cid, tiers[i_new].pk, since, round(value, 2), round(spend.get(cid, 0.0), 2)))
        if i_old == i_new:
            continue
        if old is None and i_new == len(tiers) - 1:
            continue  # everyone starts in the last tier; only real moves are reported
        if i_old is None or i_new < i_old:
            up += 1
        else:
            down += 1
        key = (tiers[i_old].pk if i_old is not None else None, tiers[i_new].pk)
        summary[key] = summary.get(key, 0) + 1
        moves.append(
            (
                cid,
                key[0],
                key[1],
                now,
                round(value, 2),
                round(float(old[2]), 2) if old else None,
                _reason(tiers, i_new, i_old, value, cuts, metric_label)[:255],
            )
        )
    with transaction.atomic():
        evaluation = TierEvaluation.objects.create(
            kind=kind,
            at=now,
            actor=actor if getattr(actor, "is_authenticated", False) else None,
            metric=settings.metric,
            method=settings.method,
            cuts={str(k): v for k, v in cuts.items()},
            customers=len(ids),
            moved=len(moves),
            up=up,
            down=down,
            summary=[{"from": k[0], "to": k[1], "count": n} for k, n in sorted(
                summary.items(), key=lambda kv: -kv[1])],
        )  # fmt: skip
        with connection.cursor() as cur:
            cur.execute(f"DELETE FROM {CustomerTier._meta.db_table}")  # noqa: S608
        Inserter(CustomerTier, ["customer", "tier", "since", "basis", "annual_spend"]).insert(rows)
        Inserter(
            TierMove,
            ["customer", "from_tier", "to_tier", "at", "basis", "previous_basis", "reason",
             "evaluation"],
        ).insert(m + (evaluation.pk,) for m in moves)  # fmt: skip
        evaluation.ms = int((time.perf_counter() - started) * 1000)
        evaluation.save(update_fields=["ms"])
    return evaluation


def tiers_monthly(*, now=None) -> TierEvaluation | None:
    """The monthly re-evaluation, once a month (the scheduler calls this daily)."""
    now = now or timezone.now()
    if not TierSettings.current().monthly or Tier.objects.count() < 2:
        return None
    month = timezone.localdate(now).replace(day=1)
    done = TierEvaluation.objects.filter(kind=EvaluationKind.MONTHLY, at__date__gte=month).exists()
    return None if done else tiers_evaluate(kind=EvaluationKind.MONTHLY, now=now)


def tier_on_order(*, customer_id: int, now=None) -> int | None:
    """Re-evaluate one customer at once when their rolling annual spend has risen by the set
    share since their last evaluation; returns the new tier id if they moved."""
    import datetime as dt

    from guanxi.orders.selectors import revenue_order_rows

    settings = TierSettings.current()
    if settings.rise_share is None:
        return None
    held = CustomerTier.objects.filter(customer_id=customer_id).select_related("tier").first()
    if held is None:
        return None  # not evaluated yet: the next evaluation places them
    now = now or timezone.now()
    spend = revenue_order_rows().filter(
        customer_id=customer_id, ordered_at__gte=now - dt.timedelta(days=YEAR_DAYS)
    ).aggregate(s=Sum("total"))["s"] or Decimal(0)
    before = held.annual_spend
    if spend <= 0 or spend < before * Decimal(str(1 + settings.rise_share)) or spend == before:
        return None
    last = TierEvaluation.objects.exclude(kind=EvaluationKind.SPEND_RISE).first()
    if last is None:
        return None
    tiers = list(Tier.objects.order_by("rank", "pk"))
    cuts = {int(k): v for k, v in last.cuts.items()}
    if any(t.pk not in cuts for t in tiers[:-1]):
        return None  # tiers changed since: wait for the next evaluation
    if last.metric == TierMetric.ANNUAL_SPEND:
        value = float(spend)
    else:
        from guanxi.analytics.selectors import customer_value_rows

        row = (
            customer_value_rows()
            .filter(customer_id=customer_id)
            .values_list(last.metric, flat=True)
        )
        value = float(row.first() or 0)
    i_new = int(_assign(tiers, cuts, np.array([value]))[0])
    index_of = {t.pk: i for i, t in enumerate(tiers)}
    i_old = index_of.get(held.tier_id)
    with transaction.atomic():
        CustomerTier.objects.filter(pk=held.pk).update(annual_spend=spend)
        if i_new == i_old:
            return None
        rise = (
            _("annual spend up %(p).0f%% (%(before)s → %(now)s)")
            % {"p": float(spend / before - 1) * 100, "before": _money(before), "now": _money(spend)}
            if before > 0
            else _("annual spend now %(now)s") % {"now": _money(spend)}
        )
        evaluation = TierEvaluation.objects.create(
            kind=EvaluationKind.SPEND_RISE,
            at=now,
            metric=last.metric,
            method=last.method,
            cuts=last.cuts,
            customers=1,
            moved=1,
            up=1 if i_old is None or i_new < i_old else 0,
            down=1 if i_old is not None and i_new > i_old else 0,
            summary=[{"from": held.tier_id, "to": tiers[i_new].pk, "count": 1}],
        )
        label = str(TierMetric(last.metric).label)
        TierMove.objects.create(
            customer_id=customer_id,
            evaluation=evaluation,
            from_tier_id=held.tier_id,
            to_tier=tiers[i_new],
            at=now,
            basis=Decimal(str(round(value, 2))),
            previous_basis=held.basis,
            reason=(rise + "; " + _reason(tiers, i_new, i_old, value, cuts, label))[:255],
        )
        CustomerTier.objects.filter(pk=held.pk).update(
            tier=tiers[i_new], since=now, basis=Decimal(str(round(value, 2)))
        )
    return tiers[i_new].pk


def tier_settings_update(*, actor, data: dict) -> TierSettings:
    """Change how tiers are measured (admins)."""
    access.require(actor, "segment.configure")
    return _update_row(TierSettings.current(), data)


def tier_save(*, actor, tier: Tier | None, data: dict) -> Tier:
    """Create or change a tier (admins)."""
    access.require(actor, "segment.configure")
    tier = _update_row(tier or Tier(), data, save=False)
    errors = Errors()
    if not tier.name:
        errors.add("name", _("Give the tier a name."))
    elif Tier.objects.filter(name=tier.name).exclude(pk=tier.pk).exists():
        errors.add("name", _("A tier with this name already exists."))
    errors.raise_if_any()
    tier.save()
    return tier


def tier_delete(*, actor, tier: Tier) -> None:
    access.require(actor, "segment.configure")
    if Tier.objects.count() <= 2:
        raise ValidationFailed(errors={"tier": [_("Keep at least two tiers.")]})
    tier.delete()


def _update_row(row, data: dict, *, save: bool = True):
    from django.core.exceptions import ValidationError

    errors = Errors()
    fields = {f.name: f for f in row._meta.concrete_fields}
    for key, value in data.items():
        if key not in fields or key in ("id", "updated_at"):
            errors.add(key, _("Unknown setting."))
            continue
        try:
            setattr(row, key, fields[key].clean(value, row))
        except ValidationError as e:
            for m in e.messages:
                errors.add(key, m)
    errors.raise_if_any()
    if save:
        row.save()
    return row
