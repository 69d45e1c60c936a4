"""Channel events over REST: POST one event, a JSON list, or NDJSON batches; read them back."""

import json

from django.utils.translation import gettext as _
from ninja import Query, Router

from guanxi.core.api import ERRORS, READ_ERRORS
from guanxi.core.errors import ValidationFailed
from guanxi.core.pagination import PageParams, paginate
from guanxi.customers.selectors import customer_get

from . import selectors, services
from .schemas import EventFilters, EventPage, IngestOut

router = Router(tags=["events"])

EVENT_EXAMPLE = {
    "channel": "web_shop",
    "kind": "page_view",
    "occurred_at": "2026-11-30T10:15:00+08:00",
    "idempotency_key": "shop-7781-pv-0001",
    "identifiers": {"phone": "13800138000", "email": "zhangsan@example.com", "channel_id": "u7781"},
    "payload": {"page": "/products/tea-set", "title": "青瓷茶具"},
}


def _events(request) -> list:
    """The events of a request body: one object, a JSON list, or one object per line."""
    text = request.body.decode("utf-8-sig", errors="replace").strip()
    if not text:
        raise ValidationFailed(errors={"__all__": [_("Send at least one event.")]})
    content_type = request.content_type or ""
    if "ndjson" not in content_type and "jsonl" not in content_type:
        try:
            data = json.loads(text)
        except ValueError as e:
            message = _("Not valid JSON: %(e)s") % {"e": e}
            raise ValidationFailed(errors={"__all__": [message]}) from e
        return data if isinstance(data, list) else [data]
    events = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            events.append(json.loads(line))
        except ValueError as e:
            raise ValidationFailed(
                errors={f"line {number}": [_("Not valid JSON: %(e)s") % {"e": e}]}
            ) from e
    return events


@router.post(
    "/events",
    response={200: IngestOut, **ERRORS},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"type": "object"}, "example": EVENT_EXAMPLE},
                "application/x-ndjson": {"schema": {"type": "string"}},
            },
        }
    },
)
def ingest_events(request):
    """Events from the web shop, the store, email and social accounts: one JSON object, a
    list of them, or NDJSON (`Content-Type: application/x-ndjson`, one event per line, up
    to 10,000). Each names the person by `identifiers` (phone, email, external_id — our
    customer's —, channel_id — theirs in that channel); it is attached to the customer
    they identify, a new lead if nobody matches. A repeated `idempotency_key` is recognised
    and not stored twice. Invalid events are listed in `errors` by line; the others are
    stored."""
    events = _events(request)
    result = services.events_ingest(actor=request.user, events=events)
    if result.errors and not result.accepted and not result.duplicates:
        # Nothing could be stored: answer 422, naming the first problems by line and field.
        raise ValidationFailed(
            errors={
                f"line {e['line']}.{field}": messages
                for e in result.errors[:50]
                for field, messages in e["errors"].items()
            }
        )
    return result.__dict__


@router.get("/events", response={200: EventPage, **READ_ERRORS})
def list_events(request, filters: Query[EventFilters], page: Query[PageParams]):
    """Channel events of customers you may see, newest first."""
    if filters.customer is not None:
        customer_get(actor=request.user, customer_id=filters.customer)  # 404 if hidden
    return paginate(
        selectors.event_list(
            actor=request.user,
            customer_id=filters.customer,
            channel=filters.channel,
            kind=filters.kind,
            after=filters.after,
            before=filters.before,
        ),
        page,
    )
