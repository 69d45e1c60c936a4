"""The value pages: the dashboard (charts, each bar a link to the customers behind it), one
refresh with its fit diagnostics, "refresh now" for managers and the settings for admins.

Views parse the request, call analytics.services / selectors, and render."""

import json
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _

from guanxi.accounts import access
from guanxi.core.charts import chart_data, chart_options, money
from guanxi.core.errors import GuanxiError, NotFound

from . import selectors, services
from .models import AnalyticsSettings, ValueRefresh

MONTHS_SHOWN = 24
COHORTS_SHOWN = 12
COHORT_WIDTH = 12
# Lifetime-value bins as shown (the stored histogram is finer, 4.7% wide).
CLV_EDGES = [0, 100, 300, 1_000, 3_000, 10_000, 30_000, 100_000, None]
SEGMENT_COLOURS = [
    "#4f46e5", "#0ea5e9", "#14b8a6", "#f59e0b", "#a5b4fc", "#7dd3fc", "#99f6e4", "#fcd34d",
    "#f87171", "#9ca3af",
]  # fmt: skip


def customers_url(**params) -> str:
    """The customer list, filtered: where a bar of the dashboard leads."""
    url = reverse("admin:customers_customer_value_list")
    return f"{url}?{urlencode(params)}"


def _context(request, model_admin, **extra):
    request.current_app = model_admin.admin_site.name
    return {**model_admin.admin_site.each_context(request), "opts": ValueRefresh._meta, **extra}


def dashboard(request, model_admin):
    """The value dashboard of the customers the viewer may see."""
    actor = request.user
    if access.role_of(actor) is None:
        raise Http404
    data = selectors.dashboard(actor=actor)
    refresh = data["refresh"]
    months = data["months"][-MONTHS_SHOWN:]
    rfm = data["rfm"]
    clv = data["clv"]
    pareto = data["pareto"]
    month_labels = [m["month"] for m in months]
    month_links = [customers_url(ordered_in=m["month"]) for m in months]
    revenue_chart = chart_data(
        month_labels,
        [
            {"type": "bar", "label": _("Revenue (¥)"), "data": [m["revenue"] for m in months],
             "backgroundColor": "var(--color-primary-600)", "yAxisID": "y", "order": 2},
            {"type": "line", "label": _("Orders"), "data": [m["orders"] for m in months],
             "borderColor": "#0f172a", "backgroundColor": "#0f172a", "yAxisID": "y1",
             "fill": False, "order": 1},
        ],
    )  # fmt: skip
    aov_chart = chart_data(
        month_labels,
        [{"label": _("Average order value"), "data": [m["average_order_value"] for m in months],
          "borderColor": "#0ea5e9", "backgroundColor": "rgba(14, 165, 233, 0.1)", "fill": True}],
    )  # fmt: skip
    churn_chart = chart_data(
        month_labels,
        [{"label": _("Churn rate (%)"),
          "data": [round(m["churn_rate"] * 100, 2) if m["churn_rate"] is not None else None
                   for m in months],
          "borderColor": "#ef4444", "backgroundColor": "rgba(239, 68, 68, 0.1)", "fill": True}],
    )  # fmt: skip
    segments = [s for s in rfm["segments"]]
    segment_links = [customers_url(segment=s["segment"]) for s in segments]
    segment_chart = chart_data(
        [s["label"] for s in segments],
        [
            {"label": _("Share of buyers (%)"),
             "data": [round(s["customer_share"] * 100, 2) for s in segments],
             "backgroundColor": SEGMENT_COLOURS[: len(segments)]},
            {"label": _("Share of revenue (%)"),
             "data": [round(s["revenue_share"] * 100, 2) for s in segments],
             "backgroundColor": "rgba(156, 163, 175, 0.55)"},
        ],
    )  # fmt: skip
    clv_bins = _coarse(clv["lifetime_value_distribution"], CLV_EDGES)
    clv_chart = chart_data(
        [b["label"] for b in clv_bins],
        [{"label": _("Customers"), "data": [b["customers"] for b in clv_bins],
          "backgroundColor": "#14b8a6"}],
    )  # fmt: skip
    clv_links = [customers_url(lifetime_value=b["range"]) for b in clv_bins]
    alive_bins = _coarse(clv["p_alive_distribution"], [i / 10 for i in range(11)], percent=True)
    alive_chart = chart_data(
        [b["label"] for b in alive_bins],
        [{"label": _("Customers"), "data": [b["customers"] for b in alive_bins],
          "backgroundColor": "#6366f1"}],
    )  # fmt: skip
    alive_links = [customers_url(p_alive=b["range"]) for b in alive_bins]
    pareto_chart = chart_data(
        [f"{round(p['customers'] * 100)}%" for p in pareto["curve"]],
        [{"label": _("Share of revenue (%)"),
          "data": [round(p["revenue"] * 100, 2) for p in pareto["curve"]],
          "borderColor": "var(--color-primary-600)", "backgroundColor": "rgba(79, 70, 229, 0.1)",
          "fill": True, "pointRadius": 0}],
    )  # fmt: skip
    cohorts = data["cohorts"]["cohorts"][-COHORTS_SHOWN:]
    cohort_rows = [
        {
            "cohort": c["cohort"],
            "customers": c["customers"],
            "link": customers_url(first_order_month=c["cohort"]),
            "cells": [
                {"share": round(r * 100, 1), "alpha": round(0.08 + 0.9 * r, 3)}
                for r in c["retention"][1 : COHORT_WIDTH + 1]
            ],
        }
        for c in cohorts
    ]
    # The as-of month is still running: the last complete month is the one before it.
    complete = [m for m in months if refresh is None or m["month"] < refresh.as_of.isoformat()[:7]]
    last = next((m for m in reversed(complete) if m["churn_rate"] is not None), None)
    buyers = rfm["buyers"]
    cards = [
        {"title": _("Buyers"), "value": f"{buyers:,}", "icon": "groups",
         "link": customers_url(historical_value="0.01-")},
        {"title": _("Revenue to date"), "value": money(rfm["revenue"]), "icon": "payments"},
        {"title": _("Average order value"),
         "value": money(rfm["revenue"] / max(sum(s["orders"] for s in segments), 1)),
         "icon": "shopping_bag"},
        {"title": _("Predicted lifetime value (mean)"), "value": money(clv["lifetime_value_mean"]),
         "icon": "trending_up"},
        {"title": _("Expected still active"), "value": f"{clv['expected_alive']:,.0f}",
         "icon": "favorite"},
        {"title": _("Top 20% bring"),
         "value": f"{pareto['top_20_share'] * 100:.0f}%" if pareto["top_20_share"] is not None
         else "—", "icon": "leaderboard"},
        {"title": _("Churn rate, last month"),
         "value": f"{last['churn_rate'] * 100:.1f}%" if last else "—", "icon": "person_remove"},
    ]  # fmt: skip
    holdout = clv["holdout"]
    holdout_chart = None
    if holdout:
        groups = holdout["by_purchases"]
        holdout_chart = chart_data(
            [str(g["purchases"]) + ("+" if i == len(groups) - 1 and g["purchases"] >= 7 else "")
             for i, g in enumerate(groups)],
            [{"label": _("Actual"), "data": [g["actual"] for g in groups],
              "backgroundColor": "#9ca3af"},
             {"label": _("Predicted"), "data": [g["predicted"] for g in groups],
              "backgroundColor": "var(--color-primary-600)"}],
        )  # fmt: skip
    context = _context(
        request,
        model_admin,
        title=_("Customer value"),
        refresh=refresh,
        cards=cards,
        chart_options=chart_options(y_ticks=True),
        legend_options=chart_options(legend=True, y_ticks=True),
        two_axes_options=chart_options(legend=True, second_axis=True, y_ticks=True),
        revenue_chart=revenue_chart,
        month_links=json.dumps(month_links),
        aov_chart=aov_chart,
        churn_chart=churn_chart,
        churn_days=months[-1]["churn_days"] if months else None,
        segment_chart=segment_chart,
        segment_links=json.dumps(segment_links),
        segments=[
            {**s, "link": link, "revenue_text": money(s["revenue"])}
            for s, link in zip(segments, segment_links, strict=True)
        ],
        scheme=rfm["scheme"],
        clv=clv,
        clv_chart=clv_chart,
        clv_links=json.dumps(clv_links),
        alive_chart=alive_chart,
        alive_links=json.dumps(alive_links),
        pareto=pareto,
        pareto_chart=pareto_chart,
        cohort_rows=cohort_rows,
        cohort_offsets=list(range(1, COHORT_WIDTH + 1)),
        holdout=holdout,
        holdout_chart=holdout_chart,
        may_refresh=access.can(actor, "analytics.refresh"),
        may_configure=access.can(actor, "analytics.configure"),
        pending=selectors.refresh_pending(),
    )
    return TemplateResponse(request, "guanxi/analytics/dashboard.html", context)


def _coarse(bins: list[dict], edges: list, *, percent=False) -> list[dict]:
    """Merge fine histogram bins into the display bins between `edges` (None: no end)."""
    out = []
    for i in range(len(edges) - 1):
        low, high = edges[i], edges[i + 1]
        customers = sum(
            b["customers"]
            for b in bins
            if b["low"] is not None and b["low"] >= low and (high is None or b["low"] < high)
        )
        if percent:
            label = f"{round(low * 100)}–{round(high * 100)}%"
            text_range = f"{low:g}-{high if high >= 1 else high - 0.0001:g}"
        elif high is None:
            label, text_range = f"≥ ¥{low:,}", f"{low}-"
        else:
            label, text_range = f"¥{low:,}–{high:,}", f"{low}-{high - 0.01:.2f}"
        out.append({"label": label, "customers": customers, "range": text_range})
    return out


def refresh_now(request, model_admin):
    """POST: queue a refresh (managers and admins); back to the dashboard."""
    if request.method != "POST":
        return HttpResponseRedirect(reverse("admin:analytics_value_dashboard"))
    try:
        services.value_refresh_request(actor=request.user, as_of=request.POST.get("as_of") or None)
    except GuanxiError as e:
        for field, errors in (e.errors or {"__all__": [e.message]}).items():
            for error in errors:
                messages.error(request, error if field == "__all__" else f"{field}: {error}")
    else:
        messages.success(
            request, _("A refresh is queued; the figures change when the worker has done it.")
        )
    return HttpResponseRedirect(reverse("admin:analytics_value_dashboard"))


def refresh_page(request, object_id, model_admin):
    """One refresh: status, timings, the models it fitted and how they did on the holdout."""
    try:
        refresh = selectors.refresh_get(actor=request.user, refresh_id=object_id)
    except NotFound:
        raise Http404 from None
    holdout = refresh.diagnostics.get("holdout") or None
    context = _context(
        request,
        model_admin,
        title=_("Value refresh as of %(date)s") % {"date": refresh.as_of.isoformat()},
        refresh=refresh,
        holdout=holdout,
        problems=[refresh.diagnostics[k] for k in selectors.PROBLEMS if k in refresh.diagnostics],
        timings=[(k, v) for k, v in refresh.timings.items() if k != "changes"],
        changes=refresh.timings.get("changes"),
    )
    return TemplateResponse(request, "guanxi/analytics/refresh.html", context)


class SettingsForm(forms.ModelForm):
    class Meta:
        model = AnalyticsSettings
        fields = list(services.SETTINGS_FIELDS)


def settings_page(request, model_admin):
    """How value is scored and predicted (admins); saved through the service."""
    if not access.can(request.user, "analytics.configure"):
        raise Http404
    current = AnalyticsSettings.current()
    form = SettingsForm(request.POST or None, instance=current)
    if request.method == "POST" and form.is_valid():
        try:
            services.analytics_settings_update(
                actor=request.user,
                data={name: form.cleaned_data[name] for name in services.SETTINGS_FIELDS},
            )
        except GuanxiError as e:
            for field, errors in e.errors.items():
                for error in errors:
                    form.add_error(field if field in form.fields else None, error)
        else:
            messages.success(request, _("Saved. The next refresh uses these settings."))
            return HttpResponseRedirect(reverse("admin:analytics_value_settings"))
    context = _context(request, model_admin, title=_("Value settings"), form=form)
    return TemplateResponse(request, "guanxi/analytics/settings.html", context)
