"""Writes of the analytics app: its settings and the refresh of every customer's value.

A refresh reads the orders once (`summary.read`), scores RFM (`rfm`), fits the purchase
model (BG/NBD or MBG/NBD) and the Gamma-Gamma spend model (`lifetime`) on the unique
(repeat purchases, last purchase, age) rows, predicts per customer, and replaces the stored
figures in one transaction: `CustomerValue` for everyone, a `CustomerValueChange` for each
customer whose scores changed, and the per-owner `ValueFigure` aggregates of the dashboard.
"""

import datetime as dt
import time
import traceback

import numpy as np
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi.accounts import access
from guanxi.core.bulk import Inserter, indexes_set_aside
from guanxi.core.errors import Errors, ValidationFailed

from . import lifetime, rfm, summary
from .choices import RefreshStatus
from .models import AnalyticsSettings, CustomerValue, CustomerValueChange, ValueFigure, ValueRefresh

WEEK = 7.0
YEAR_DAYS = 365.25
MIN_BUYERS = 20  # fewer, and the fit says more about chance than about customers
HOLDOUT_GROUPS = 8  # calibration purchases 0, 1, … 6 and "7 or more"
VALUE_BINS = np.concatenate([[0.0], np.geomspace(1.0, 1e9, 451)])  # 4.7% wide, then 0
P_ALIVE_BINS = 20

SETTINGS_FIELDS = (
    "segment_scheme",
    "high_score",
    "active_days",
    "purchase_model",
    "churn_days",
    "lifetime_years",
    "discount_rate",
    "nightly",
    "nightly_hour",
)


def analytics_settings_update(*, actor, data: dict) -> AnalyticsSettings:
    """Change how value is scored and predicted (admins); every bad field is named."""
    access.require(actor, "analytics.configure")
    current = AnalyticsSettings.current()
    errors = Errors()
    unknown = set(data) - set(SETTINGS_FIELDS)
    for name in sorted(unknown):
        errors.add(name, _("Unknown setting."))
    for name in SETTINGS_FIELDS:
        if name not in data:
            continue
        model_field = AnalyticsSettings._meta.get_field(name)
        try:
            value = model_field.clean(data[name], current)
        except Exception as e:  # django ValidationError, with the field's own messages
            for message in getattr(e, "messages", [str(e)]):
                errors.add(name, message)
            continue
        setattr(current, name, value)
    errors.raise_if_any()
    current.save()
    return current


def _check_as_of(as_of) -> dt.date:
    today = timezone.localdate()
    if as_of is None:
        return today
    if isinstance(as_of, str):
        try:
            as_of = dt.date.fromisoformat(as_of)
        except ValueError:
            raise ValidationFailed(
                errors={"as_of": [_("Enter a date as YYYY-MM-DD, e.g. 1997-09-30.")]}
            ) from None
    if isinstance(as_of, dt.datetime):
        as_of = as_of.date()
    if as_of > today:
        raise ValidationFailed(errors={"as_of": [_("The as-of date cannot be in the future.")]})
    return as_of


def value_refresh_request(*, actor, as_of=None) -> ValueRefresh:
    """Queue a refresh of every customer's value (managers and admins); runs in the worker."""
    access.require(actor, "analytics.refresh")
    as_of = _check_as_of(as_of)
    refresh = ValueRefresh.objects.create(as_of=as_of, requested_by=actor)

    def enqueue():
        from guanxi.tasks import refresh_values

        refresh_values.enqueue(refresh.pk)

    transaction.on_commit(enqueue)
    return refresh


def value_refresh(*, actor, as_of=None, on_progress=None) -> ValueRefresh:
    """Refresh every customer's value now (the CLI); returns the finished refresh."""
    if actor is not None:
        access.require(actor, "analytics.refresh")
    as_of = _check_as_of(as_of)
    refresh = ValueRefresh.objects.create(as_of=as_of, requested_by=actor)
    return value_refresh_run(refresh=refresh, on_progress=on_progress)


def value_refresh_nightly(*, now=None) -> ValueRefresh | None:
    """The nightly refresh: once a day after the configured hour, if switched on."""
    options = AnalyticsSettings.current()
    now = timezone.localtime(now)
    if not options.nightly or now.hour < options.nightly_hour:
        return None
    today = now.date()
    if ValueRefresh.objects.filter(
        as_of=today, requested_by=None, status__in=[RefreshStatus.RUNNING, RefreshStatus.DONE]
    ).exists():
        return None
    refresh = ValueRefresh.objects.create(as_of=today)
    return value_refresh_run(refresh=refresh)


def value_refresh_run(*, refresh: ValueRefresh, on_progress=None) -> ValueRefresh:
    """Do a queued refresh; a failure is recorded on it and leaves the old figures in place."""
    say = on_progress or (lambda _text: None)
    refresh.status, refresh.started_at, refresh.error = RefreshStatus.RUNNING, timezone.now(), ""
    refresh.save(update_fields=["status", "started_at", "error"])
    try:
        _compute_and_write(refresh, say)
    except Exception as e:
        refresh.status, refresh.finished_at = RefreshStatus.FAILED, timezone.now()
        refresh.error = f"{type(e).__name__}: {e}\n\n{traceback.format_exc(limit=5)}"
        refresh.save(update_fields=["status", "finished_at", "error"])
        raise
    return refresh


class _Figures:
    """Per-owner aggregates of one refresh, as ValueFigure rows."""

    def __init__(self, refresh_id: int):
        self.refresh_id = refresh_id
        self.rows: list[tuple] = []

    def add(self, kind, owner, key, sub=0, customers=0, orders=0, amount=0.0):
        owner = None if owner is None or owner < 0 else int(owner)
        self.rows.append(
            (self.refresh_id, owner, kind, str(key), int(sub), int(customers), int(orders),
             float(amount))
        )  # fmt: skip

    def grouped(self, kind, owners, keys, *, amount=None, orders=None):
        """Count (and sum) buyers by (owner, key)."""
        if len(owners) == 0:
            return
        owners = np.asarray(owners, dtype=np.int64)
        keys = np.asarray(keys)
        codes, key_index = np.unique(keys, return_inverse=True)
        pair = (owners - owners.min()) * len(codes) + key_index
        uniq, inverse, counts = np.unique(pair, return_inverse=True, return_counts=True)
        sums = np.bincount(inverse, weights=amount) if amount is not None else None
        order_sums = np.bincount(inverse, weights=orders) if orders is not None else None
        for i, p in enumerate(uniq):
            owner = int(p // len(codes) + owners.min())
            key = codes[int(p % len(codes))]
            self.add(
                kind,
                owner,
                key,
                customers=counts[i],
                orders=0 if order_sums is None else order_sums[i],
                amount=0.0 if sums is None else sums[i],
            )


def _compute_and_write(refresh: ValueRefresh, say) -> None:
    clock = time.perf_counter
    t0 = begin = clock()
    timings: dict[str, float] = {}

    def lap(name):
        nonlocal t0
        now = clock()
        timings[name] = round(now - t0, 3)
        t0 = now

    options = AnalyticsSettings.current()
    refresh.options = {
        name: (str(getattr(options, name)) if name == "discount_rate" else getattr(options, name))
        for name in SETTINGS_FIELDS
    }
    say(_("Reading orders up to %(date)s …") % {"date": refresh.as_of.isoformat()})
    s = summary.read(as_of=refresh.as_of, churn_days=options.churn_days)
    timings.update({f"read: {k}": round(v, 3) for k, v in s.timings.items()})
    lap("read")
    n_buyers = len(s.buyer_ids)
    at = np.searchsorted(s.customer_ids, s.buyer_ids)
    owners = s.owner_ids[at] if n_buyers else np.zeros(0, dtype=np.int64)

    x = s.days - 1
    span = s.last_day - s.first_day
    age = s.as_of_day - s.first_day
    recency = s.as_of_day - s.last_day
    revenue = s.revenue
    zbar = np.where(x > 0, (revenue - s.first_revenue) / np.maximum(x, 1), 0.0)
    in_base = recency <= options.active_days if options.active_days else np.ones(n_buyers, bool)
    if n_buyers and not in_base.any():
        in_base = np.ones(n_buyers, bool)  # nobody recent: score against every buyer
    r, f, m = rfm.rfm_scores(recency, s.orders, revenue, in_base)
    seg_cn = rfm.chinese_segments(r, f, m, high=options.high_score)
    seg_named = rfm.named_segments(r, f)
    lap("rfm")

    say(_("Fitting the purchase and spend models on %(n)s buyers …") % {"n": f"{n_buyers:,}"})
    predictions = _predict(refresh, options, x, span, age, zbar, revenue, s.orders)
    lap("models")

    diagnostics = dict(refresh.diagnostics)
    if predictions is not None and n_buyers:
        diagnostics["holdout"] = _holdout(refresh, s, predictions["model"], x, span, age)
    refresh.diagnostics = diagnostics
    lap("holdout")

    figures = _Figures(refresh.pk)
    _add_figures(figures, s, owners, seg_cn, seg_named, revenue, predictions)
    lap("figures")

    say(_("Writing the figures of %(n)s customers …") % {"n": f"{len(s.customer_ids):,}"})
    with transaction.atomic():
        changes = _write_values(refresh, s, r, f, m, seg_cn, seg_named, predictions, recency, lap)
        ValueFigure.objects.all().delete()
        Inserter(
            ValueFigure,
            ["refresh", "owner", "kind", "key", "sub", "customers", "orders", "amount"],
        ).insert(figures.rows)
        lap("write: figures")
        refresh.customers = len(s.customer_ids)
        refresh.buyers = n_buyers
        refresh.repeat_buyers = int((x > 0).sum())
        refresh.status, refresh.finished_at = RefreshStatus.DONE, timezone.now()
        refresh.timings = timings | {"changes": changes, "total": round(clock() - begin, 3)}
        refresh.save()
    say(_("Done in %(s).1f s.") % {"s": clock() - begin})


def _predict(refresh, options, x, span, age, zbar, revenue, orders) -> dict | None:
    """Fit both models and predict per buyer; None (with the reason in the diagnostics)
    when there is too little to fit."""
    diagnostics = refresh.diagnostics = {}
    if len(x) == 0:
        diagnostics["purchase_model_error"] = _("No customer has ordered yet.")
        return None
    if len(x) < MIN_BUYERS:
        diagnostics["purchase_model_error"] = _(
            "There are too few buyers to fit the purchase model (%(n)s; at least %(min)s)."
        ) % {"n": len(x), "min": MIN_BUYERS}
        return None
    # A million customers collapse to far fewer (x, t_x, T) rows: fit and predict on those.
    key = (x.astype(np.int64) << 40) | (span.astype(np.int64) << 20) | age.astype(np.int64)
    uniq, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
    ux = (uniq >> 40).astype(float)
    ut_x = ((uniq >> 20) & 0xFFFFF) / WEEK
    uT = (uniq & 0xFFFFF) / WEEK
    try:
        model = lifetime.fit_purchases(
            ux, ut_x, uT, kind=options.purchase_model, weights=counts.astype(float)
        )
    except (lifetime.FitError, ValueError) as e:
        diagnostics["purchase_model_error"] = _(
            "The purchase model could not be fitted on these customers (%(reason)s)."
        ) % {"reason": e}
        return None
    refresh.purchase_model = model.kind
    refresh.purchase_params = model.params()
    refresh.purchase_log_likelihood = model.log_likelihood
    refresh.time_unit = "week"
    diagnostics["purchase_model_iterations"] = model.iterations

    repeat = x > 0
    try:
        spend = lifetime.fit_spend(x[repeat & (zbar > 0)], zbar[repeat & (zbar > 0)])
        refresh.spend_params = spend.params()
        refresh.spend_log_likelihood = spend.log_likelihood
        order_value = spend.expected_spend(x, zbar)
    except (lifetime.FitError, ValueError) as e:
        # Without a spend model the customer's own average order value stands in.
        diagnostics["spend_model_error"] = _(
            "The spend model could not be fitted (%(reason)s); each customer's own average "
            "order value stands in."
        ) % {"reason": e}
        spend = None
        order_value = revenue / np.maximum(orders, 1)

    def expected(days):
        return model.expected_purchases(days / WEEK, ux, ut_x, uT)[inverse]

    p_alive = model.p_alive(ux, ut_x, uT)[inverse]
    purchases_90 = expected(90.0)
    purchases_365 = expected(365.0)
    if not (np.isfinite(p_alive).all() and np.isfinite(purchases_365).all()):
        diagnostics["purchase_model_error"] = _(
            "The purchase model gave no usable predictions for these customers."
        )
        refresh.purchase_model, refresh.purchase_params = "", {}
        refresh.purchase_log_likelihood = None
        return None
    rate = float(options.discount_rate)
    lifetime_purchases = np.zeros(len(x))
    lifetime_value = np.zeros(len(x))
    before = np.zeros(len(x))
    for year in range(1, options.lifetime_years + 1):
        upto = purchases_365 if year == 1 else expected(YEAR_DAYS * year)
        # Purchases of year k arrive through the year: discount them to its middle.
        lifetime_value += (upto - before) / (1.0 + rate) ** (year - 0.5)
        lifetime_purchases = upto
        before = upto
    diagnostics["lifetime_purchases_mean"] = float(lifetime_purchases.mean())
    return {
        "model": model,
        "spend": spend,
        "p_alive": p_alive,
        "purchases_90": purchases_90,
        "purchases_365": purchases_365,
        "order_value": order_value,
        "value_90": purchases_90 * order_value,
        "value_365": purchases_365 * order_value,
        "lifetime_value": lifetime_value * order_value,
    }


def _holdout(refresh, s, model, x, span, age) -> dict:
    """Predicted against actual purchases after the as-of date, by purchases before it."""
    last = summary.last_order_day()
    if last is None or last <= refresh.as_of:
        return {}
    weeks = (last - refresh.as_of).days / WEEK
    actual = summary.holdout_purchases(
        after=refresh.as_of, until=last, customer_ids=s.buyer_ids
    ).astype(float)
    predicted = model.expected_purchases(weeks, x.astype(float), span / WEEK, age / WEEK)
    group = np.minimum(x, HOLDOUT_GROUPS - 1)
    n = np.bincount(group, minlength=HOLDOUT_GROUPS)
    sums_a = np.bincount(group, weights=actual, minlength=HOLDOUT_GROUPS)
    sums_p = np.bincount(group, weights=predicted, minlength=HOLDOUT_GROUPS)
    rows = [
        {
            "purchases": int(k),
            "customers": int(n[k]),
            "actual": round(float(sums_a[k] / n[k]), 4),
            "predicted": round(float(sums_p[k] / n[k]), 4),
        }
        for k in range(HOLDOUT_GROUPS)
        if n[k]
    ]
    return {
        "until": last.isoformat(),
        "weeks": round(weeks, 3),
        "actual": round(float(actual.sum()), 3),
        "predicted": round(float(predicted.sum()), 3),
        "by_purchases": rows,
    }


def _add_figures(figures: _Figures, s, owners, seg_cn, seg_named, revenue, predictions) -> None:
    all_owners = s.owner_ids
    figures.grouped("customers", all_owners, np.zeros(len(all_owners), dtype=np.int64))
    for owner, month, n, amount, buyers, new in s.months:
        figures.add("month", owner, summary.month_label(month), sub=new, customers=buyers,
                    orders=n, amount=amount)  # fmt: skip
    for owner, first, month, customers in s.cohorts:
        figures.add("cohort", owner, summary.month_label(first), sub=month - first,
                    customers=customers)  # fmt: skip
    for owner, month, started, ended in s.spells:
        figures.add("spell", owner, summary.month_label(month), customers=started, orders=ended)
    if len(owners) == 0:
        return
    figures.grouped("segment_cn", owners, seg_cn, amount=revenue, orders=s.orders)
    figures.grouped("segment_named", owners, seg_named, amount=revenue, orders=s.orders)
    value_bin = np.searchsorted(VALUE_BINS, revenue, side="right") - 1
    figures.grouped("value_bin", owners, value_bin, amount=revenue, orders=s.orders)
    if predictions is not None:
        clv = predictions["lifetime_value"]
        figures.grouped("clv_bin", owners, np.searchsorted(VALUE_BINS, clv, side="right") - 1,
                        amount=clv)  # fmt: skip
        alive_bin = np.minimum((predictions["p_alive"] * P_ALIVE_BINS).astype(int),
                               P_ALIVE_BINS - 1)  # fmt: skip
        figures.grouped("p_alive_bin", owners, alive_bin, amount=predictions["p_alive"])


VALUE_COLUMNS = [
    "customer", "as_of", "orders", "repeat_purchases", "first_order_on", "last_order_on",
    "recency_days", "historical_value", "average_order_value", "r_score", "f_score", "m_score",
    "segment_cn", "segment_named", "p_alive", "purchases_90", "purchases_365",
    "expected_order_value", "value_90", "value_365", "lifetime_value",
]  # fmt: skip
CHANGE_COLUMNS = [
    "customer", "as_of", "r_score", "f_score", "m_score", "segment_cn", "segment_named",
    "p_alive", "lifetime_value", "historical_value",
]  # fmt: skip


def _money(values) -> list:
    return np.round(np.asarray(values, dtype=float), 2).tolist()


def _floats(values) -> list:
    return np.round(np.asarray(values, dtype=float), 6).tolist()


def _dates(days) -> list[str]:
    cache: dict[int, str] = {}
    out = []
    for d in days.tolist():
        text = cache.get(d)
        if text is None:
            text = cache[d] = summary.day_of(d).isoformat()
        out.append(text)
    return out


def _write_values(refresh, s, r, f, m, seg_cn, seg_named, predictions, recency, lap) -> int:
    """Replace every customer's CustomerValue; record the customers whose scores changed."""
    table = connection.ops.quote_name(CustomerValue._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT customer_id, COALESCE(r_score * 100 + f_score * 10 + m_score, 0) FROM {table}"
            " ORDER BY customer_id"
        )
        before = np.array(cursor.fetchall(), dtype=np.int64).reshape(-1, 2)
    lap("write: read previous scores")
    as_of = refresh.as_of.isoformat()
    n = len(s.buyer_ids)
    buyer_set = np.zeros(len(s.customer_ids), dtype=bool)
    buyer_set[np.searchsorted(s.customer_ids, s.buyer_ids)] = True
    rows: list[tuple] = [
        (cid, as_of, 0, 0, None, None, None, 0.0, None, None, None, None, "", "", None, None,
         None, None, None, None, None)
        for cid in s.customer_ids[~buyer_set].tolist()
    ]  # fmt: skip
    changes: list[tuple] = []
    if n:
        if predictions is None:
            nothing = [None] * n
            p_alive = p90 = p365 = eov = v90 = v365 = clv = nothing
        else:
            p_alive = _floats(predictions["p_alive"])
            p90 = _floats(predictions["purchases_90"])
            p365 = _floats(predictions["purchases_365"])
            eov = _money(predictions["order_value"])
            v90 = _money(predictions["value_90"])
            v365 = _money(predictions["value_365"])
            clv = _money(predictions["lifetime_value"])
        ids = s.buyer_ids.tolist()
        historical = _money(s.revenue)
        aov = _money(s.revenue / np.maximum(s.orders, 1))
        rl, fl, ml = r.tolist(), f.tolist(), m.tolist()
        cn, named = seg_cn.tolist(), seg_named.tolist()
        rows.extend(
            zip(
                ids, [as_of] * n, s.orders.tolist(), (s.days - 1).tolist(), _dates(s.first_day),
                _dates(s.last_day), recency.tolist(), historical, aov, rl, fl, ml, cn, named,
                p_alive, p90, p365, eov, v90, v365, clv, strict=True,
            )
        )  # fmt: skip
        # A change is a buyer whose scores differ from the stored ones (or who had none).
        packed = r.astype(np.int64) * 100 + f * 10 + m
        old = np.zeros(n, dtype=np.int64)
        if len(before):
            at = np.minimum(np.searchsorted(before[:, 0], s.buyer_ids), len(before) - 1)
            found = before[at, 0] == s.buyer_ids
            old[found] = before[at[found], 1]
        for i in np.flatnonzero(old != packed).tolist():
            changes.append(
                (ids[i], as_of, rl[i], fl[i], ml[i], cn[i], named[i], p_alive[i], clv[i],
                 historical[i])
            )  # fmt: skip
    lap("write: rows")
    # On PostgreSQL this holds the value table's lock until the refresh commits: pages that
    # read it wait those seconds.
    with indexes_set_aside([(CustomerValue, ())]):
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {table}")
        lap("write: delete")
        Inserter(CustomerValue, VALUE_COLUMNS).insert(rows, converted=True)
        lap("write: insert")
    lap("write: indexes")
    Inserter(CustomerValueChange, CHANGE_COLUMNS).insert(changes, converted=True)
    lap("write: changes")
    return len(changes)
