"""Orders over REST."""

from django.http import HttpResponse
from ninja import Query, Router, Status

from guanxi.core.api import ERRORS, READ_ERRORS, ErrorOut
from guanxi.core.pagination import PageParams, paginate
from guanxi.core.tabular import OPENAPI_FILE, ExportFormat, table_response
from guanxi.customers.selectors import customer_get

from . import selectors, services
from .exports import order_export
from .schemas import OrderFilters, OrderIn, OrderOut, OrderPage, OrderPatch

router = Router(tags=["orders"])


@router.get("/orders", response={200: OrderPage, **READ_ERRORS})
def list_orders(request, filters: Query[OrderFilters], page: Query[PageParams]):
    """Orders of customers you may see, newest first, with their lines."""
    if filters.customer is not None:
        customer_get(actor=request.user, customer_id=filters.customer)  # 404 if hidden
    qs = selectors.order_list(
        actor=request.user,
        customer_id=filters.customer,
        status=filters.status,
        ordered_after=filters.ordered_after,
        ordered_before=filters.ordered_before,
    )
    return paginate(qs.prefetch_related("lines__product"), page)


@router.post("/orders", response={201: OrderOut, **ERRORS})
def create_order(request, payload: OrderIn):
    """Record an order with lines; its total is computed from the lines."""
    data = payload.dict(exclude_unset=True)
    customer = customer_get(actor=request.user, customer_id=data.pop("customer"))
    data["lines"] = [dict(line) for line in data["lines"]]
    order = services.order_create(actor=request.user, customer=customer, data=data)
    return Status(201, selectors.order_get(actor=request.user, order_id=order.pk))


@router.get("/orders/{int:order_id}", response={200: OrderOut, **READ_ERRORS})
def get_order(request, order_id: int):
    return selectors.order_get(actor=request.user, order_id=order_id)


@router.patch("/orders/{int:order_id}", response={200: OrderOut, **ERRORS})
def update_order(request, order_id: int, payload: OrderPatch):
    order = selectors.order_get(actor=request.user, order_id=order_id)
    services.order_update(actor=request.user, order=order, data=payload.dict(exclude_unset=True))
    return selectors.order_get(actor=request.user, order_id=order_id)


@router.delete("/orders/{int:order_id}", response={204: None, **ERRORS})
def delete_order(request, order_id: int):
    order = selectors.order_get(actor=request.user, order_id=order_id)
    services.order_delete(actor=request.user, order=order)
    return HttpResponse(status=204)


@router.get(
    "/orders/export",
    response={403: ErrorOut, **READ_ERRORS},
    openapi_extra=OPENAPI_FILE,
)
def export_orders(request, filters: Query[OrderFilters], format: ExportFormat = "csv"):
    """The orders you may see, with the list's filters, one row per order (its products
    summarised), as CSV (UTF-8 with BOM) or Excel. Recorded in the audit log; refused to
    roles that may not export personal data."""
    return table_response(order_export(actor=request.user, filters=filters), format)
