"""The dashboard's figures, computed by the selectors in customers.reports, scoped to the viewer."""

import json
from urllib.parse import urlencode

from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from guanxi.accounts import access
from guanxi.customers import reports
from guanxi.customers.choices import Stage

STAGE_COLOURS = {
    Stage.LEAD: "#93c5fd",
    Stage.NEW: "#6366f1",
    Stage.ACTIVE: "#22c55e",
    Stage.AT_RISK: "#f59e0b",
    Stage.CHURNED: "#ef4444",
    Stage.TERMINATED: "#9ca3af",
}


def money(amount) -> str:
    return f"¥{amount:,.0f}" if amount >= 10000 else f"¥{amount:,.2f}"


def _month_label(month, first: bool) -> str:
    label = date_format(month, "M")
    return f"{month.year} {label}" if first or month.month == 1 else label


def _chart(labels, datasets) -> str:
    return json.dumps({"labels": labels, "datasets": datasets}, ensure_ascii=False)


# Chart.js options (plain JSON, no callbacks): whole-number ticks, quiet grid, no legend.
CHART_OPTIONS = json.dumps(
    {
        "animation": False,
        "responsive": True,
        "maintainAspectRatio": False,
        "plugins": {"legend": {"display": False}},
        "datasets": {
            "bar": {"borderRadius": 6, "maxBarThickness": 36},
            "line": {"borderWidth": 2, "pointRadius": 2, "tension": 0.3, "fill": True},
        },
        "scales": {
            "x": {"grid": {"display": False}, "ticks": {"color": "#9ca3af"}},
            "y": {
                "beginAtZero": True,
                "border": {"display": False},
                "grid": {"color": "rgba(156, 163, 175, 0.2)"},
                "ticks": {"color": "#9ca3af", "precision": 0},
            },
        },
    }
)


def _url(name, **params) -> str:
    url = reverse(name)
    return f"{url}?{urlencode(params)}" if params else url


def dashboard_callback(request, context):
    actor = request.user
    if access.role_of(actor) is None:
        return context
    now = timezone.now()
    start = reports.month_start(now)
    month_from = start.date().isoformat()
    k = reports.kpis(actor=actor, now=now)
    stages = reports.customers_by_stage(actor=actor)
    new_per_month = reports.new_customers_per_month(actor=actor, now=now)
    revenue = reports.revenue_per_month(actor=actor, now=now)
    orders_url = "admin:orders_order_changelist"
    tasks_url = "admin:interactions_task_changelist"
    cards = [
        {
            "title": _("Customers"),
            "value": f"{k['customers']:,}",
            "icon": "groups",
            "link": _url("admin:customers_customer_changelist"),
        },
        {
            "title": _("New this month"),
            "value": f"{k['new_customers']:,}",
            "icon": "person_add",
            "link": _url("admin:customers_customer_changelist"),
        },
        {
            "title": _("Revenue this month"),
            "value": money(k["revenue"]),
            "icon": "payments",
            "link": _url(orders_url, ordered_at_from=month_from),
        },
        {
            "title": _("Orders this month"),
            "value": f"{k['orders']:,}",
            "icon": "receipt_long",
            "link": _url(orders_url, ordered_at_from=month_from),
        },
        {
            "title": _("Open tasks"),
            "value": f"{k['open_tasks']:,}",
            "icon": "task_alt",
            "link": _url(tasks_url, status__exact="open"),
        },
        {
            "title": _("Overdue tasks"),
            "value": f"{k['overdue_tasks']:,}",
            "icon": "alarm",
            "link": _url(tasks_url, due="overdue"),
            "alert": k["overdue_tasks"] > 0,
        },
    ]
    stage_chart = _chart(
        [s["label"] for s in stages],
        [
            {
                "label": _("Customers"),
                "data": [s["count"] for s in stages],
                "backgroundColor": [STAGE_COLOURS[s["stage"]] for s in stages],
            }
        ],
    )
    new_chart = _chart(
        [_month_label(m["month"], i == 0) for i, m in enumerate(new_per_month)],
        [
            {
                "label": _("New customers"),
                "data": [m["count"] for m in new_per_month],
                "backgroundColor": "var(--color-primary-600)",
                "maxBarThickness": 24,
            }
        ],
    )
    revenue_chart = _chart(
        [_month_label(m["month"], i == 0) for i, m in enumerate(revenue)],
        [
            {
                "label": _("Revenue"),
                "data": [float(m["revenue"]) for m in revenue],
                "borderColor": "var(--color-primary-600)",
                "backgroundColor": "rgba(220, 38, 38, 0.08)",
            }
        ],
    )
    context.update(
        {
            "gx_dashboard": True,
            "title": _("Dashboard"),
            "chart_options": CHART_OPTIONS,
            "kpi_cards": cards,
            "stage_chart": stage_chart,
            "stage_rows": stages,
            "new_chart": new_chart,
            "new_total": sum(m["count"] for m in new_per_month),
            "revenue_chart": revenue_chart,
            "revenue_total": money(sum(m["revenue"] for m in revenue)),
            "top_by_revenue": [
                {**row, "revenue_text": money(row["revenue"])}
                for row in reports.top_owners_by_revenue(actor=actor, now=now)
            ],
            "top_by_customers": reports.top_owners_by_customers(actor=actor),
            "my_tasks": reports.my_open_tasks(actor=actor),
            "now": now,
            "is_rep": access.role_of(actor) == "rep",
        }
    )
    return context
