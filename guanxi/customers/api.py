"""Customers, contacts and custom field definitions over REST."""

from django.http import HttpResponse
from django.utils.translation import gettext as _
from ninja import Query, Router, Status

from guanxi.core.api import ERRORS, READ_ERRORS, ErrorOut, Id
from guanxi.core.pagination import PageParams, paginate
from guanxi.core.tabular import OPENAPI_FILE, ExportFormat, table_response
from guanxi.interactions.selectors import timeline_for_customer

from . import selectors, services
from .exports import contact_export, customer_export
from .filters import CustomerFilters, CustomerSort, clean_custom_field_params
from .schemas import (
    BulkAssignIn,
    BulkOut,
    BulkTagIn,
    ContactIn,
    ContactOut,
    ContactPage,
    ContactPatch,
    CustomerIn,
    CustomerOut,
    CustomerPage,
    CustomerPatch,
    CustomFieldIn,
    CustomFieldOut,
    CustomFieldPatch,
    StageChangeOut,
    StageIn,
    TimelineEventOut,
)

router = Router(tags=["customers"])
SEARCH_COUNT_LIMIT = 1000  # counting every match of a broad search costs more than the page


def _custom_params(request) -> dict:
    """The `cf_<key>=value` filters of a request, checked against the custom fields."""
    return clean_custom_field_params({k: v for k, v in request.GET.items() if k.startswith("cf_")})


@router.get("/customers", response={200: CustomerPage, **READ_ERRORS})
def list_customers(
    request,
    filters: Query[CustomerFilters],
    page: Query[PageParams],
    sort: CustomerSort | None = None,
):
    """Customers you may see; `q` searches name, pinyin, initials, phone, email and company;
    `cf_<key>=value` filters on a custom field; the value filters (`segment`,
    `lifetime_value=1000-`, `p_alive=0-0.3` …) and `sort` use the latest value refresh
    (customers not yet valued sort last). A search with more than 1,000 matches answers
    `count` 1000 and `count_exact` false."""
    qs = selectors.customer_list(
        actor=request.user,
        filters=filters,
        custom=_custom_params(request),
        prefetch=False,
        sort=sort,
    )
    if filters.q and sort is None:
        result = paginate(qs, page, count_limit=SEARCH_COUNT_LIMIT, newest_first=True)
    else:
        result = paginate(qs, page)
    selectors.customer_list_load(result["items"])
    return result


@router.post("/customers", response={201: CustomerOut, **ERRORS})
def create_customer(request, payload: CustomerIn, allow_duplicate: bool = False):
    """Create a customer. Answers 409 with the existing customers when a phone or email is
    already on file; repeat with `allow_duplicate=true` to create it anyway."""
    data = payload.dict(exclude_unset=True)
    if "addresses" in data:
        data["addresses"] = [a for a in data["addresses"]]
    customer = services.customer_create(
        actor=request.user, data=data, allow_duplicate=allow_duplicate
    )
    return Status(201, selectors.customer_get(actor=request.user, customer_id=customer.pk))


@router.get("/customers/{int:customer_id}", response={200: CustomerOut, **READ_ERRORS})
def get_customer(request, customer_id: int):
    return selectors.customer_get(actor=request.user, customer_id=customer_id)


@router.patch("/customers/{int:customer_id}", response={200: CustomerOut, **ERRORS})
def update_customer(
    request, customer_id: int, payload: CustomerPatch, allow_duplicate: bool = False
):
    customer = selectors.customer_get(actor=request.user, customer_id=customer_id)
    services.customer_update(
        actor=request.user,
        customer=customer,
        data=payload.dict(exclude_unset=True),
        allow_duplicate=allow_duplicate,
    )
    return selectors.customer_get(actor=request.user, customer_id=customer_id)


@router.delete("/customers/{int:customer_id}", response={204: None, **ERRORS})
def delete_customer(request, customer_id: int):
    customer = selectors.customer_get(actor=request.user, customer_id=customer_id)
    services.customer_delete(actor=request.user, customer=customer)
    return HttpResponse(status=204)


@router.post("/customers/{int:customer_id}/stage", response={200: CustomerOut, **ERRORS})
def change_stage(request, customer_id: int, payload: StageIn):
    """Move a customer to another lifecycle stage, with the cause."""
    customer = selectors.customer_get(actor=request.user, customer_id=customer_id)
    services.customer_change_stage(
        actor=request.user, customer=customer, stage=payload.stage, cause=payload.cause
    )
    return selectors.customer_get(actor=request.user, customer_id=customer_id)


@router.get(
    "/customers/{int:customer_id}/stage-history",
    response={200: list[StageChangeOut], **READ_ERRORS},
)
def stage_history(request, customer_id: int):
    customer = selectors.customer_get(actor=request.user, customer_id=customer_id)
    return list(customer.stage_changes.all()[:200])


@router.get(
    "/customers/{int:customer_id}/timeline", response={200: list[TimelineEventOut], **READ_ERRORS}
)
def customer_timeline(request, customer_id: int, page: Query[PageParams]):
    """Everything that happened with a customer, newest first."""
    customer = selectors.customer_get(actor=request.user, customer_id=customer_id)
    events = timeline_for_customer(customer_id=customer.pk, limit=page.offset + page.limit)
    return events[page.offset :]


@router.post("/customers/bulk/assign-owner", response={200: BulkOut, **ERRORS})
def bulk_assign(request, payload: BulkAssignIn):
    """Give many customers to one owner (managers within their team, admins anyone)."""
    from guanxi.accounts.selectors import user_list
    from guanxi.core.errors import ValidationFailed

    owner = user_list(actor=request.user).filter(pk=payload.owner, is_active=True).first()
    if owner is None:
        raise ValidationFailed(
            errors={"owner": [_("No active user with id %(id)s.") % {"id": payload.owner}]}
        )
    return {
        "changed": services.customers_assign_owner(
            actor=request.user, customer_ids=payload.ids, owner=owner
        )
    }


@router.post("/customers/bulk/tag", response={200: BulkOut, **ERRORS})
def bulk_tag(request, payload: BulkTagIn):
    return {
        "changed": services.customers_tag(
            actor=request.user, customer_ids=payload.ids, add=payload.add, remove=payload.remove
        )
    }


@router.get("/contacts", response={200: ContactPage, **READ_ERRORS})
def list_contacts(request, page: Query[PageParams], customer: Id | None = None):
    """Contacts at company customers you may see; `customer` narrows to one company."""
    if customer is not None:
        selectors.customer_get(actor=request.user, customer_id=customer)  # 404 if hidden
    return paginate(
        selectors.contact_list(actor=request.user, customer_id=customer).order_by(
            "customer_id", "-is_primary", "name"
        ),
        page,
    )


@router.post("/contacts", response={201: ContactOut, **ERRORS})
def create_contact(request, payload: ContactIn):
    data = payload.dict(exclude_unset=True)
    customer = selectors.customer_get(actor=request.user, customer_id=data.pop("customer"))
    return Status(201, services.contact_create(actor=request.user, customer=customer, data=data))


@router.get("/contacts/{int:contact_id}", response={200: ContactOut, **READ_ERRORS})
def get_contact(request, contact_id: int):
    return selectors.contact_get(actor=request.user, contact_id=contact_id)


@router.patch("/contacts/{int:contact_id}", response={200: ContactOut, **ERRORS})
def update_contact(request, contact_id: int, payload: ContactPatch):
    contact = selectors.contact_get(actor=request.user, contact_id=contact_id)
    return services.contact_update(
        actor=request.user, contact=contact, data=payload.dict(exclude_unset=True)
    )


@router.delete("/contacts/{int:contact_id}", response={204: None, **ERRORS})
def delete_contact(request, contact_id: int):
    contact = selectors.contact_get(actor=request.user, contact_id=contact_id)
    services.contact_delete(actor=request.user, contact=contact)
    return HttpResponse(status=204)


@router.get(
    "/custom-fields", response={200: list[CustomFieldOut], **READ_ERRORS}, tags=["custom fields"]
)
def list_custom_fields(request, include_inactive: bool = False):
    return selectors.custom_field_definitions(active_only=not include_inactive)


@router.post("/custom-fields", response={201: CustomFieldOut, **ERRORS}, tags=["custom fields"])
def create_custom_field(request, payload: CustomFieldIn):
    """Define a customer field (admins): text, number, date or choice, with validation."""
    return Status(
        201, services.custom_field_create(actor=request.user, data=payload.dict(exclude_unset=True))
    )


@router.patch(
    "/custom-fields/{key}", response={200: CustomFieldOut, **ERRORS}, tags=["custom fields"]
)
def update_custom_field(request, key: str, payload: CustomFieldPatch):
    from guanxi.accounts import access

    access.require(request.user, "customfield.manage")
    definition = services.get_definition(key=key)
    return services.custom_field_update(
        actor=request.user, definition=definition, data=payload.dict(exclude_unset=True)
    )


@router.delete("/custom-fields/{key}", response={204: None, **ERRORS}, tags=["custom fields"])
def delete_custom_field(request, key: str):
    """Retire a field; stored values are kept."""
    from guanxi.accounts import access

    access.require(request.user, "customfield.manage")
    services.custom_field_delete(actor=request.user, definition=services.get_definition(key=key))
    return HttpResponse(status=204)


# Exports ------------------------------------------------------------------------------------


@router.get(
    "/customers/export",
    response={403: ErrorOut, **READ_ERRORS},
    openapi_extra=OPENAPI_FILE,
)
def export_customers(request, filters: Query[CustomerFilters], format: ExportFormat = "csv"):
    """The customers you may see, with the list's filters (`cf_<key>=value` too), as CSV
    (UTF-8 with BOM) or Excel. Recorded in the audit log; refused to roles that may not
    export personal data."""
    table = customer_export(actor=request.user, filters=filters, custom=_custom_params(request))
    return table_response(table, format)


@router.get(
    "/customers/export.csv",
    response={403: ErrorOut, **READ_ERRORS},
    openapi_extra=OPENAPI_FILE,
)
def export_customers_csv(request, filters: Query[CustomerFilters]):
    """The same as `/customers/export?format=csv` (kept for scripts that use this address)."""
    table = customer_export(actor=request.user, filters=filters, custom=_custom_params(request))
    return table_response(table, "csv")


@router.get(
    "/contacts/export",
    response={403: ErrorOut, **READ_ERRORS},
    openapi_extra=OPENAPI_FILE,
)
def export_contacts(request, customer: Id | None = None, format: ExportFormat = "csv"):
    """The contacts you may see (`customer` narrows to one company), as CSV or Excel.
    Recorded in the audit log; refused to roles that may not export personal data."""
    return table_response(contact_export(actor=request.user, customer_id=customer), format)


from . import termination_api  # noqa: E402, F401 - adds the operations that end a relationship
