"""Reads of orders, scoped through the customer the order belongs to."""

from datetime import date, datetime, time

from django.db.models import F, Prefetch, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi.accounts import access
from guanxi.core.errors import NotFound

from .choices import REVENUE_STATUSES, OrderStatus
from .models import Order, OrderLine, Product


def order_list(
    *,
    actor,
    customer_id: int | None = None,
    status: str | None = None,
    ordered_after=None,
    ordered_before=None,
) -> QuerySet[Order]:
    qs = access.scope_customer_children(Order.objects.all(), actor)
    if customer_id is not None:
        qs = qs.filter(customer_id=customer_id)
    if status:
        qs = qs.filter(status=status)
    if ordered_after:
        qs = qs.filter(ordered_at__date__gte=ordered_after)
    if ordered_before:
        qs = qs.filter(ordered_at__date__lte=ordered_before)
    return qs.select_related("customer").prefetch_related(
        Prefetch("lines", queryset=OrderLine.objects.order_by("id"))
    )


def order_get(*, actor, order_id) -> Order:
    try:
        return order_list(actor=actor).get(pk=order_id)
    except (Order.DoesNotExist, ValueError, TypeError) as e:
        raise NotFound(_("Order not found.")) from e


def product_list() -> QuerySet[Product]:
    return Product.objects.filter(is_active=True)


def revenue_orders_between(start: date, end: date) -> QuerySet[Order]:
    """Paid, shipped or completed orders placed from `start` up to `end` (local days,
    end excluded); unscoped: for narrowing a list that is already scoped."""
    zone = timezone.get_current_timezone()
    return Order.objects.filter(
        status__in=REVENUE_STATUSES,
        ordered_at__gte=datetime.combine(start, time(0), tzinfo=zone),
        ordered_at__lt=datetime.combine(end, time(0), tzinfo=zone),
    )


# Unscoped rows for set-based queries (segments); the caller scopes the customers it returns.
def revenue_order_rows() -> QuerySet[Order]:
    """Orders that count as revenue."""
    return Order.objects.filter(status__in=REVENUE_STATUSES)


def order_rows() -> QuerySet[Order]:
    """Orders that were revenue, including those refunded since (for return rates)."""
    return Order.objects.filter(status__in=[*REVENUE_STATUSES, OrderStatus.REFUNDED])


def revenue_line_rows() -> QuerySet[OrderLine]:
    """Lines of revenue orders, each with its order's `customer_id`."""
    return OrderLine.objects.filter(order__status__in=REVENUE_STATUSES).annotate(
        customer_id=F("order__customer_id")
    )
