"""Exporting the orders an actor can see, as a table for CSV and .xlsx files.

One row per order, its lines summarised in one cell ("商品 × 2; 配件 × 1"): the list is a
list of orders, its filters and count are of orders, and a row per line would repeat each
order's total on every line, so summing the column would count an order many times.
"""

from collections import defaultdict
from decimal import Decimal

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from guanxi.accounts import access
from guanxi.core.tabular import Table, choice_labels, chunked, field_label, local_time, rendered
from guanxi.customers.exports import export_audit, export_check, filters_of
from guanxi.customers.selectors import customer_get

from .models import Order, OrderLine
from .schemas import OrderFilters
from .selectors import order_list


def _quantity(value: Decimal) -> str:
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def order_export(
    *,
    actor,
    filters: OrderFilters | None = None,
    queryset: QuerySet[Order] | None = None,
    list_params: dict | None = None,
) -> Table:
    """The orders the actor may see, filtered as their list is, as a table; audited.

    Or the `queryset` a list page built from `order_list`, with its `list_params`.
    """
    export_check(actor)
    if queryset is None:
        f = filters or OrderFilters()
        if f.customer is not None:
            customer_get(actor=actor, customer_id=f.customer)  # NotFound when hidden
        queryset = order_list(
            actor=actor,
            customer_id=f.customer,
            status=f.status,
            ordered_after=f.ordered_after,
            ordered_before=f.ordered_before,
        )
        recorded = filters_of(filters)
    else:
        queryset = access.scope_customer_children(queryset, actor)
        recorded = list_params or {}
    # The lines are read per chunk as plain values, not as a prefetch of model instances.
    queryset = queryset.select_related("customer").prefetch_related(None)
    count = queryset.count()
    export_audit(
        actor=actor,
        model="orders.order",
        what=_("%(n)d orders") % {"n": count},
        filters=recorded,
        count=count,
    )
    header = [
        _("ID"),
        field_label(Order, "number"),
        field_label(Order, "ordered_at"),
        field_label(Order, "status"),
        field_label(Order, "channel"),
        field_label(Order, "currency"),
        field_label(Order, "total"),
        _("Products"),
        _("Customer ID"),
        field_label(Order, "customer"),
        field_label(Order, "notes"),
        _("Created"),
    ]

    def render(chunk: list[Order]):
        lines = defaultdict(list)
        for order_id, name, quantity in (
            OrderLine.objects.filter(order_id__in=[o.pk for o in chunk])
            .order_by("order_id", "id")
            .values_list("order_id", "product_name", "quantity")
        ):
            lines[order_id].append(f"{name} × {_quantity(quantity)}")
        status, channel = choice_labels(Order, "status"), choice_labels(Order, "channel")
        for o in chunk:
            yield [
                o.pk,
                o.number,
                local_time(o.ordered_at),
                status.get(o.status, o.status),
                channel.get(o.channel, o.channel),
                o.currency,
                f"{o.total:.2f}",
                "; ".join(lines[o.pk]),
                o.customer_id,
                o.customer.name,
                o.notes,
                local_time(o.created_at),
            ]

    return Table(
        name="orders",
        title=_("Orders"),
        header=header,
        rows=rendered(chunked(queryset), render),
        count=count,
    )
