"""Dashboard figures, scoped to the viewer: what a rep sees covers only their own customers.

Every function is one or two aggregate queries. Whatever reads orders or new customers is
bounded by time (this month, the last twelve months) so it is answered from the indexes on
`Order.ordered_at` and `Customer.created_at`, however many rows there are in all.
"""

from datetime import datetime
from decimal import Decimal

from django.db.models import Count, F, Q, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone

from guanxi.accounts import access
from guanxi.interactions.choices import TaskStatus
from guanxi.interactions.selectors import task_list
from guanxi.orders.choices import REVENUE_STATUSES
from guanxi.orders.models import Order

from .choices import Stage
from .selectors import customer_queryset


def month_start(now: datetime | None = None) -> datetime:
    """Midnight on the first of the current month, in the site's time zone."""
    local = timezone.localtime(now)
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def months_back(start: datetime, n: int) -> datetime:
    """The first of the month `n` months before `start` (after it, for negative `n`)."""
    year, month = divmod(start.year * 12 + start.month - 1 - n, 12)
    return start.replace(year=year, month=month + 1)


def _orders(actor):
    return access.scope_customer_children(Order.objects.all(), actor)


def _month_keys(months: int, now=None) -> list[datetime]:
    first = months_back(month_start(now), months - 1)
    return [months_back(first, -i) for i in range(months)]


def kpis(*, actor, now=None) -> dict:
    """Customers, new this month, revenue and orders this month, open and overdue tasks."""
    now = now or timezone.now()
    start = month_start(now)
    customers = customer_queryset(actor=actor)
    orders = (
        _orders(actor)
        .filter(ordered_at__gte=start)
        .aggregate(
            n=Count("id"),
            revenue=Sum("total", filter=Q(status__in=REVENUE_STATUSES)),
        )
    )
    tasks = task_list(actor=actor, status=TaskStatus.OPEN).aggregate(
        open=Count("id"), overdue=Count("id", filter=Q(due_at__lt=now))
    )
    return {
        "customers": customers.count(),
        "new_customers": customers.filter(created_at__gte=start).count(),
        "revenue": orders["revenue"] or Decimal("0"),
        "orders": orders["n"],
        "open_tasks": tasks["open"],
        "overdue_tasks": tasks["overdue"],
    }


def customers_by_stage(*, actor) -> list[dict]:
    """[{stage, label, count}] in lifecycle order, zero for stages with nobody in them."""
    rows = customer_queryset(actor=actor).order_by().values("stage").annotate(n=Count("id"))
    counts = {r["stage"]: r["n"] for r in rows}
    return [
        {"stage": s.value, "label": str(s.label), "count": counts.get(s.value, 0)} for s in Stage
    ]


def new_customers_per_month(*, actor, months: int = 12, now=None) -> list[dict]:
    """[{month, count}] for the last `months` months including this one."""
    keys = _month_keys(months, now)
    rows = (
        customer_queryset(actor=actor)
        .filter(created_at__gte=keys[0])
        .annotate(month=TruncMonth("created_at"))
        .order_by()
        .values("month")
        .annotate(n=Count("id"))
    )
    counts = {(r["month"].year, r["month"].month): r["n"] for r in rows}
    return [{"month": k, "count": counts.get((k.year, k.month), 0)} for k in keys]


def revenue_per_month(*, actor, months: int = 12, now=None) -> list[dict]:
    """[{month, revenue, orders}] of paid, shipped and completed orders, last `months` months."""
    keys = _month_keys(months, now)
    rows = (
        _orders(actor)
        .filter(ordered_at__gte=keys[0], status__in=REVENUE_STATUSES)
        .annotate(month=TruncMonth("ordered_at"))
        .order_by()
        .values("month")
        .annotate(revenue=Sum("total"), n=Count("id"))
    )
    sums = {(r["month"].year, r["month"].month): r for r in rows}
    out = []
    for k in keys:
        row = sums.get((k.year, k.month))
        out.append(
            {
                "month": k,
                "revenue": row["revenue"] if row else Decimal("0"),
                "orders": row["n"] if row else 0,
            }
        )
    return out


def top_owners_by_revenue(*, actor, limit: int = 5, months: int = 12, now=None) -> list[dict]:
    """Owners whose customers brought the most revenue over the last `months` months."""
    since = _month_keys(months, now)[0]
    rows = (
        _orders(actor)
        .filter(ordered_at__gte=since, status__in=REVENUE_STATUSES)
        .order_by()
        .values(
            "customer__owner_id",
            "customer__owner__username",
            "customer__owner__display_name",
        )
        .annotate(revenue=Sum("total"), n=Count("id"))
        .order_by("-revenue")[:limit]
    )
    return [
        {
            "owner_id": r["customer__owner_id"],
            "name": r["customer__owner__display_name"] or r["customer__owner__username"],
            "revenue": r["revenue"] or Decimal("0"),
            "orders": r["n"],
        }
        for r in rows
    ]


def top_owners_by_customers(*, actor, limit: int = 5) -> list[dict]:
    """Owners with the most customers."""
    rows = (
        customer_queryset(actor=actor)
        .order_by()
        .values("owner_id", "owner__username", "owner__display_name")
        .annotate(n=Count("id"))
        .order_by("-n")[:limit]
    )
    return [
        {
            "owner_id": r["owner_id"],
            "name": r["owner__display_name"] or r["owner__username"],
            "customers": r["n"],
        }
        for r in rows
    ]


def my_open_tasks(*, actor, limit: int = 6):
    """The viewer's own open tasks, soonest due first."""
    return list(
        task_list(actor=actor, status=TaskStatus.OPEN, owner="me").order_by(
            F("due_at").asc(nulls_last=True), "id"
        )[:limit]
    )
