"""Interactions and tasks over REST."""

from django.http import HttpResponse
from ninja import Query, Router, Status

from guanxi.core.api import ERRORS, READ_ERRORS, ErrorOut
from guanxi.core.pagination import PageParams, paginate
from guanxi.core.tabular import OPENAPI_FILE, ExportFormat, table_response
from guanxi.customers.selectors import customer_get

from . import selectors, services
from .exports import interaction_export, task_export
from .schemas import (
    InteractionFilters,
    InteractionIn,
    InteractionOut,
    InteractionPage,
    InteractionPatch,
    TaskFilters,
    TaskIn,
    TaskOut,
    TaskPage,
    TaskPatch,
)

router = Router(tags=["interactions & tasks"])


@router.get("/interactions", response={200: InteractionPage, **READ_ERRORS})
def list_interactions(request, filters: Query[InteractionFilters], page: Query[PageParams]):
    """Interactions on customers you may see; filter by customer, type, channel, time, text."""
    if filters.customer is not None:
        customer_get(actor=request.user, customer_id=filters.customer)  # 404 if hidden
    qs = selectors.interaction_list(
        actor=request.user,
        customer_id=filters.customer,
        kind=filters.kind,
        channel=filters.channel,
        q=filters.q,
        after=filters.after,
        before=filters.before,
    )
    return paginate(qs, page)


@router.post("/interactions", response={201: InteractionOut, **ERRORS})
def create_interaction(request, payload: InteractionIn):
    data = payload.dict(exclude_unset=True)
    customer = customer_get(actor=request.user, customer_id=data.pop("customer"))
    return Status(201, services.interaction_log(actor=request.user, customer=customer, data=data))


@router.get("/interactions/{int:interaction_id}", response={200: InteractionOut, **READ_ERRORS})
def get_interaction(request, interaction_id: int):
    return selectors.interaction_get(actor=request.user, interaction_id=interaction_id)


@router.patch("/interactions/{int:interaction_id}", response={200: InteractionOut, **ERRORS})
def update_interaction(request, interaction_id: int, payload: InteractionPatch):
    interaction = selectors.interaction_get(actor=request.user, interaction_id=interaction_id)
    return services.interaction_update(
        actor=request.user, interaction=interaction, data=payload.dict(exclude_unset=True)
    )


@router.delete("/interactions/{int:interaction_id}", response={204: None, **ERRORS})
def delete_interaction(request, interaction_id: int):
    interaction = selectors.interaction_get(actor=request.user, interaction_id=interaction_id)
    services.interaction_delete(actor=request.user, interaction=interaction)
    return HttpResponse(status=204)


@router.get("/tasks", response={200: TaskPage, **READ_ERRORS})
def list_tasks(request, filters: Query[TaskFilters], page: Query[PageParams]):
    """Your tasks and tasks on customers you may see; `owner=me` for only yours."""
    if filters.customer is not None:
        customer_get(actor=request.user, customer_id=filters.customer)  # 404 if hidden
    return paginate(
        selectors.task_list(
            actor=request.user,
            customer_id=filters.customer,
            status=filters.status,
            owner=filters.owner,
        ),
        page,
    )


@router.post("/tasks", response={201: TaskOut, **ERRORS})
def create_task(request, payload: TaskIn):
    data = payload.dict(exclude_unset=True)
    customer_id = data.pop("customer", None)
    customer = customer_get(actor=request.user, customer_id=customer_id) if customer_id else None
    return Status(201, services.task_create(actor=request.user, customer=customer, data=data))


@router.get("/tasks/{int:task_id}", response={200: TaskOut, **READ_ERRORS})
def get_task(request, task_id: int):
    return selectors.task_get(actor=request.user, task_id=task_id)


@router.patch("/tasks/{int:task_id}", response={200: TaskOut, **ERRORS})
def update_task(request, task_id: int, payload: TaskPatch):
    task = selectors.task_get(actor=request.user, task_id=task_id)
    return services.task_update(
        actor=request.user, task=task, data=payload.dict(exclude_unset=True)
    )


@router.delete("/tasks/{int:task_id}", response={204: None, **ERRORS})
def delete_task(request, task_id: int):
    task = selectors.task_get(actor=request.user, task_id=task_id)
    services.task_delete(actor=request.user, task=task)
    return HttpResponse(status=204)


@router.get(
    "/interactions/export",
    response={403: ErrorOut, **READ_ERRORS},
    openapi_extra=OPENAPI_FILE,
)
def export_interactions(request, filters: Query[InteractionFilters], format: ExportFormat = "csv"):
    """The interactions you may see, with the list's filters, as CSV (UTF-8 with BOM) or
    Excel. Recorded in the audit log; refused to roles that may not export personal data."""
    return table_response(interaction_export(actor=request.user, filters=filters), format)


@router.get(
    "/tasks/export",
    response={403: ErrorOut, **READ_ERRORS},
    openapi_extra=OPENAPI_FILE,
)
def export_tasks(request, filters: Query[TaskFilters], format: ExportFormat = "csv"):
    """The tasks you may see, with the list's filters, as CSV (UTF-8 with BOM) or Excel.
    Recorded in the audit log; refused to roles that may not export personal data."""
    return table_response(task_export(actor=request.user, filters=filters), format)
