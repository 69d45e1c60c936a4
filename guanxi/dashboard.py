"""The dashboard's figures, computed by the selectors in customers.reports, scoped to the viewer."""

from urllib.parse import urlencode

from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from guanxi.accounts import access
from guanxi.core.charts import chart_data, chart_options, money
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


def _month_label(month, first: bool) -> str:
    label = date_format(month, "M")
    return f"{month.year} {label}" if first or month.month == 1 else label


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
    stage_chart = chart_data(
        [s["label"] for s in stages],
        [
            {
                "label": _("Customers"),
                "data": [s["count"] for s in stages],
                "backgroundColor": [STAGE_COLOURS[s["stage"]] for s in stages],
            }
        ],
    )
    new_chart = chart_data(
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
    revenue_chart = chart_data(
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
            "chart_options": chart_options(),
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
