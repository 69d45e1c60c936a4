"""Reads of the value figures, every one scoped to what the viewer may see.

Per-customer figures come from `CustomerValue` of customers the viewer sees; aggregates
(segments, months, cohorts, distributions) are the latest refresh's per-owner
`ValueFigure` rows, summed over the owners whose customers the viewer sees — exact,
because every customer has one owner, and fast, because no order is read again.
"""

import datetime as dt
from collections import defaultdict

from django.db.models import F, Q, QuerySet
from django.utils.translation import gettext as _

from guanxi.accounts import access
from guanxi.core.errors import NotFound
from guanxi.customers.selectors import customer_get

from . import summary
from .choices import ChineseSegment, NamedSegment, PurchaseModelKind, RefreshStatus, SegmentScheme
from .models import (
    AnalyticsSettings,
    CustomerValue,
    CustomerValueChange,
    ValueFigure,
    ValueRefresh,
)

VALUE_FIELDS = (
    "as_of", "orders", "repeat_purchases", "first_order_on", "last_order_on", "recency_days",
    "historical_value", "average_order_value", "r_score", "f_score", "m_score", "segment_cn",
    "segment_named", "p_alive", "purchases_90", "purchases_365", "expected_order_value",
    "value_90", "value_365", "lifetime_value",
)  # fmt: skip


HISTORY_FIELDS = (
    "as_of", "r_score", "f_score", "m_score", "segment_cn", "segment_named", "p_alive",
    "lifetime_value", "historical_value",
)  # fmt: skip
HISTORY_SHOWN = 24
PROBLEMS = ("purchase_model_error", "spend_model_error")
SEGMENT_CODES = frozenset(ChineseSegment.values) | frozenset(NamedSegment.values)


def parse_range(text: str) -> tuple[float | None, float | None]:
    """ "100-500", "100-", "-500" or "100" (exactly) → (low, high); ValueError if not a range."""
    raw = str(text).strip().replace("–", "-").replace("～", "-").replace("~", "-")
    low_text, sep, high_text = raw.partition("-")
    try:
        low = float(low_text) if low_text.strip() else None
        high = float(high_text) if high_text.strip() else None
    except ValueError:
        raise ValueError(_("Enter a range such as 100-500, 100- or -500.")) from None
    if any(v is not None and not (abs(v) < 1e13) for v in (low, high)):
        raise ValueError(_("Enter numbers below 10,000,000,000,000."))
    if not sep:
        high = low
    if low is None and high is None:
        raise ValueError(_("Enter a range such as 100-500, 100- or -500."))
    if low is not None and high is not None and low > high:
        raise ValueError(_("The start of the range is above its end."))
    return low, high


def value_q(filters) -> Q | None:
    """The customer-list filters on value figures (`CustomerFilters`), as a Q on customers."""
    q = Q()
    if filters.segment:
        q &= Q(value__segment_cn=filters.segment) | Q(value__segment_named=filters.segment)
    for score in ("r_score", "f_score", "m_score"):
        if getattr(filters, score):
            q &= Q(**{f"value__{score}": getattr(filters, score)})
    for name in ("lifetime_value", "historical_value", "p_alive"):
        text = getattr(filters, name)
        if text:
            low, high = parse_range(text)
            if low is not None:
                q &= Q(**{f"value__{name}__gte": low})
            if high is not None:
                q &= Q(**{f"value__{name}__lte": high})
    if filters.first_order_month:
        first = parse_month(filters.first_order_month)
        q &= Q(value__first_order_on__gte=first, value__first_order_on__lt=_next_month(first))
    if filters.ordered_in:
        from guanxi.orders.selectors import revenue_orders_between

        start = parse_month(filters.ordered_in)
        q &= Q(pk__in=revenue_orders_between(start, _next_month(start)).values("customer_id"))
    return q if q else None


def parse_month(text: str) -> dt.date:
    """ "2026-03" → 2026-03-01; ValueError naming the problem otherwise."""
    try:
        year, month = (int(p) for p in str(text).split("-"))
        if not 1900 <= year <= 2999:
            raise ValueError
        return dt.date(year, month, 1)
    except ValueError:
        raise ValueError(_("Enter a month as YYYY-MM, e.g. 2026-03.")) from None


def _next_month(day: dt.date) -> dt.date:
    return dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)


def latest_refresh() -> ValueRefresh | None:
    """The newest finished refresh (what the stored figures are)."""
    return ValueRefresh.objects.filter(status=RefreshStatus.DONE).order_by("-finished_at").first()


def refresh_list() -> QuerySet:
    return ValueRefresh.objects.select_related("requested_by").order_by("-created_at", "-id")


def refresh_pending() -> ValueRefresh | None:
    """A refresh queued or running, if any (the dashboard says so)."""
    return ValueRefresh.objects.filter(
        status__in=[RefreshStatus.QUEUED, RefreshStatus.RUNNING]
    ).first()


def refresh_get(*, actor, refresh_id) -> ValueRefresh:
    """One refresh with its fits, for those who may refresh; NotFound for everyone else."""
    if not access.can(actor, "analytics.refresh"):
        raise NotFound(_("Not found."))
    try:
        return refresh_list().get(pk=int(refresh_id))
    except (ValueRefresh.DoesNotExist, ValueError, TypeError):
        raise NotFound(_("Not found.")) from None


def segment_label(code: str) -> str:
    """The label of a segment code (the codes of the two schemes are distinct)."""
    for choices in (ChineseSegment, NamedSegment):
        if code in choices.values:
            return str(choices(code).label)
    return ""


def value_ordering(sort: str):
    """An ordering of customers by a value figure ("-lifetime_value"), unvalued ones last."""
    descending = sort.startswith("-")
    expression = F(f"value__{sort.lstrip('-')}")
    return expression.desc(nulls_last=True) if descending else expression.asc(nulls_last=True)


def segment_field(prefix: str = "value__") -> str:
    """The field of CustomerValue that holds the segment in the scheme of the settings."""
    scheme = AnalyticsSettings.current().segment_scheme
    return prefix + ("segment_cn" if scheme == SegmentScheme.CHINESE else "segment_named")


def customer_value(*, actor, customer_id: int) -> dict:
    """A customer's value figures (404 when the customer is hidden); empty before a refresh."""
    customer = customer_get(actor=actor, customer_id=customer_id)
    options = AnalyticsSettings.current()
    row = CustomerValue.objects.filter(customer_id=customer.pk).values(*VALUE_FIELDS).first()
    refresh = latest_refresh()
    out = {"customer": customer.pk, "computed": row is not None, **dict.fromkeys(VALUE_FIELDS)}
    if row:
        out.update(row)
    scheme = options.segment_scheme
    code = out.get("segment_cn") if scheme == SegmentScheme.CHINESE else out.get("segment_named")
    out["segment"] = code or ""
    out["segment_label"] = segment_label(code) if code else ""
    out["segment_scheme"] = scheme
    out["model"] = refresh.purchase_model if refresh else ""
    out["history"] = [
        {**h, "segment": h["segment_cn"] if scheme == SegmentScheme.CHINESE else h["segment_named"]}
        for h in CustomerValueChange.objects.filter(customer_id=customer.pk)
        .order_by("-as_of", "-id")
        .values(*HISTORY_FIELDS)[:HISTORY_SHOWN]
    ]
    for h in out["history"]:
        h["segment_label"] = segment_label(h["segment"])
    return out


def _figures(actor, kind: str, refresh: ValueRefresh | None):
    if refresh is None:
        return ValueFigure.objects.none()
    qs = ValueFigure.objects.filter(refresh=refresh, kind=kind)
    return access.scope_by_owner(qs, actor, owner_path="owner")


def _summed(actor, kind, refresh, key=lambda f: f.key):
    out: dict = defaultdict(lambda: {"customers": 0, "orders": 0, "amount": 0.0})
    for f in _figures(actor, kind, refresh).only("key", "sub", "customers", "orders", "amount"):
        slot = out[key(f)]
        slot["customers"] += f.customers
        slot["orders"] += f.orders
        slot["amount"] += f.amount
    return out


def rfm_summary(*, actor, scheme: str | None = None) -> dict:
    """Segment sizes and revenue shares of the viewer's customers, in the chosen scheme."""
    options = AnalyticsSettings.current()
    scheme = scheme or options.segment_scheme
    refresh = latest_refresh()
    kind = "segment_cn" if scheme == SegmentScheme.CHINESE else "segment_named"
    sums = _summed(actor, kind, refresh)
    buyers = sum(s["customers"] for s in sums.values())
    revenue = sum(s["amount"] for s in sums.values())
    choices = ChineseSegment if scheme == SegmentScheme.CHINESE else NamedSegment
    segments = []
    for code, label in choices.choices:
        s = sums.get(code, {"customers": 0, "orders": 0, "amount": 0.0})
        segments.append(
            {
                "segment": code,
                "label": str(label),
                "customers": s["customers"],
                "customer_share": round(s["customers"] / buyers, 6) if buyers else 0.0,
                "revenue": round(s["amount"], 2),
                "revenue_share": round(s["amount"] / revenue, 6) if revenue else 0.0,
                "orders": s["orders"],
            }
        )
    return {
        "as_of": refresh.as_of if refresh else None,
        "scheme": scheme,
        "high_score": refresh.options.get("high_score", options.high_score) if refresh else None,
        "buyers": buyers,
        "revenue": round(revenue, 2),
        "segments": segments,
    }


def _model_out(refresh: ValueRefresh | None) -> dict | None:
    if refresh is None or not refresh.purchase_model:
        return None
    return {
        "name": refresh.purchase_model,
        "label": str(PurchaseModelKind(refresh.purchase_model).label),
        "parameters": refresh.purchase_params,
        "log_likelihood": refresh.purchase_log_likelihood,
        "time_unit": refresh.time_unit,
        "as_of": refresh.as_of,
        "customers": refresh.buyers,
    }


def _histogram(actor, kind, refresh, edges, *, share_of=None) -> list[dict]:
    sums = _summed(actor, kind, refresh, key=lambda f: int(f.key))
    out = []
    for index in sorted(sums):
        s = sums[index]
        low = edges[index] if 0 <= index < len(edges) else None
        high = edges[index + 1] if 0 <= index + 1 < len(edges) else None
        out.append(
            {"low": low, "high": high, "customers": s["customers"], "amount": round(s["amount"], 2)}
        )
    return out


def clv_summary(*, actor) -> dict:
    """The fitted models (name, parameters, log-likelihood, time unit, as-of date), the
    lifetime-value and P(alive) distributions of the viewer's customers, and the holdout
    check of the purchase model when there were orders after the as-of date."""
    from .services import P_ALIVE_BINS, VALUE_BINS

    refresh = latest_refresh()
    clv = _histogram(actor, "clv_bin", refresh, VALUE_BINS.tolist())
    alive_edges = [i / P_ALIVE_BINS for i in range(P_ALIVE_BINS + 1)]
    alive = _histogram(actor, "p_alive_bin", refresh, alive_edges)
    customers = sum(b["customers"] for b in clv)
    total = sum(b["amount"] for b in clv)
    spend = None
    if refresh is not None and refresh.spend_params:
        spend = {
            "name": "gamma_gamma",
            "label": _("Gamma-Gamma"),
            "parameters": refresh.spend_params,
            "log_likelihood": refresh.spend_log_likelihood,
            "customers": refresh.repeat_buyers,
        }
    diagnostics = refresh.diagnostics if refresh else {}
    return {
        "as_of": refresh.as_of if refresh else None,
        "model": _model_out(refresh),
        "spend_model": spend,
        "lifetime_years": refresh.options.get("lifetime_years") if refresh else None,
        "discount_rate": float(refresh.options.get("discount_rate", 0)) if refresh else None,
        "customers": customers,
        "lifetime_value_total": round(total, 2),
        "lifetime_value_mean": round(total / customers, 2) if customers else None,
        "expected_alive": round(sum(b["amount"] for b in alive), 2),
        "lifetime_value_distribution": clv,
        "p_alive_distribution": alive,
        "holdout": diagnostics.get("holdout") or None,
        "problems": [diagnostics[k] for k in PROBLEMS if k in diagnostics],
    }


def cohorts(*, actor) -> dict:
    """Retention by first-order month: of the customers who first bought in a month, how
    many bought again 1, 2, … months later."""
    refresh = latest_refresh()
    grid: dict[str, dict[int, int]] = defaultdict(dict)
    for f in _figures(actor, "cohort", refresh).only("key", "sub", "customers"):
        grid[f.key][f.sub] = grid[f.key].get(f.sub, 0) + f.customers
    rows = []
    for month in sorted(grid):
        counts = grid[month]
        size = counts.get(0, 0)
        width = max(counts) + 1
        active = [counts.get(k, 0) for k in range(width)]
        rows.append(
            {
                "cohort": month,
                "customers": size,
                "active": active,
                "retention": [round(a / size, 4) if size else 0.0 for a in active],
            }
        )
    return {"as_of": refresh.as_of if refresh else None, "cohorts": rows}


def months(*, actor) -> list[dict]:
    """Revenue, orders, average order value, buyers, new buyers and the churn rate per month."""
    refresh = latest_refresh()
    per: dict[str, dict] = defaultdict(lambda: {"orders": 0, "revenue": 0.0, "buyers": 0, "new": 0})
    for f in _figures(actor, "month", refresh).only("key", "sub", "customers", "orders", "amount"):
        slot = per[f.key]
        slot["orders"] += f.orders
        slot["revenue"] += f.amount
        slot["buyers"] += f.customers
        slot["new"] += f.sub
    spells: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for f in _figures(actor, "spell", refresh).only("key", "customers", "orders"):
        spells[f.key][0] += f.customers
        spells[f.key][1] += f.orders
    churn_days = refresh.options.get("churn_days") if refresh else None
    out, active = [], 0
    for month in sorted(set(per) | set(spells)):
        if refresh is not None and month > summary.month_label(summary.month_number(refresh.as_of)):
            continue
        slot = per.get(month, {"orders": 0, "revenue": 0.0, "buyers": 0, "new": 0})
        began, ended = spells.get(month, [0, 0])
        out.append(
            {
                "month": month,
                "orders": slot["orders"],
                "revenue": round(slot["revenue"], 2),
                "average_order_value": (
                    round(slot["revenue"] / slot["orders"], 2) if slot["orders"] else None
                ),
                "buyers": slot["buyers"],
                "new_buyers": slot["new"],
                "active_at_start": active,
                "churned": ended,
                "churn_rate": round(ended / active, 4) if active else None,
                "churn_days": churn_days,
            }
        )
        active += began - ended
    return out


def pareto(*, actor) -> dict:
    """The cumulative share of revenue against the share of buyers, best buyers first, and
    what the top 20% bring (from the value histogram, exact to within one bin)."""
    from .services import VALUE_BINS

    bins = _histogram(actor, "value_bin", latest_refresh(), VALUE_BINS.tolist())
    bins = [b for b in reversed(bins) if b["customers"]]
    customers = sum(b["customers"] for b in bins)
    revenue = sum(b["amount"] for b in bins)
    points, top20 = [{"customers": 0.0, "revenue": 0.0}], None
    seen, earned = 0, 0.0
    for b in bins:
        if top20 is None and customers and (seen + b["customers"]) / customers >= 0.2:
            part = (0.2 * customers - seen) / b["customers"]
            top20 = (earned + part * b["amount"]) / revenue if revenue else 0.0
        seen += b["customers"]
        earned += b["amount"]
        points.append(
            {
                "customers": round(seen / customers, 5),
                "revenue": round(earned / revenue, 5) if revenue else 0.0,
            }
        )
    return {
        "buyers": customers,
        "revenue": round(revenue, 2),
        "top_20_share": round(top20, 4) if top20 is not None else None,
        "curve": points,
    }


def dashboard(*, actor) -> dict:
    """Everything the value dashboard shows, scoped to the viewer."""
    refresh = latest_refresh()
    return {
        "refresh": refresh,
        "months": months(actor=actor),
        "rfm": rfm_summary(actor=actor),
        "pareto": pareto(actor=actor),
        "clv": clv_summary(actor=actor),
        "cohorts": cohorts(actor=actor),
    }


def customer_value_rows() -> QuerySet[CustomerValue]:
    """Every customer's current value figures, unscoped, for set-based queries (segments)
    whose customers the caller scopes."""
    return CustomerValue.objects.all()
