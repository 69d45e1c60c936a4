"""Ending a relationship (关系终止) over REST: asking, with the reason; approving (once
nothing is open), rejecting or withdrawing. Its operations join the customers router."""

from ninja import Query, Status

from guanxi.core.api import ERRORS, READ_ERRORS
from guanxi.core.pagination import PageParams, paginate

from . import selectors, services
from .api import router
from .choices import TerminationStatus
from .schemas import SettlementConflictOut, TerminationDecisionIn, TerminationIn, TerminationOut
from .schemas import TerminationPage as Page

DECISION_ERRORS = {**ERRORS, 409: SettlementConflictOut}


def _get(request, termination_id: int):
    return selectors.termination_get(actor=request.user, request_id=termination_id)


@router.post(
    "/customers/{int:customer_id}/termination",
    response={201: TerminationOut, **ERRORS},
    tags=["ending relationships"],
)
def request_termination(request, customer_id: int, payload: TerminationIn):
    """Ask to end the relationship with a customer (anyone who may edit it), giving the
    reason; a manager of the customer's team or an admin decides. 409 if the relationship
    has ended or a request is already waiting."""
    customer = selectors.customer_get(actor=request.user, customer_id=customer_id)
    made = services.termination_request(
        actor=request.user, customer=customer, reason=payload.reason
    )
    return Status(201, _get(request, made.pk))


@router.get(
    "/customers/{int:customer_id}/termination",
    response={200: list[TerminationOut], **READ_ERRORS},
    tags=["ending relationships"],
)
def customer_terminations(request, customer_id: int):
    """The requests to end this relationship, newest first (the current one, if any, first)."""
    customer = selectors.customer_get(actor=request.user, customer_id=customer_id)
    return list(selectors.termination_list(actor=request.user, customer_id=customer.pk)[:50])


@router.get("/terminations", response={200: Page, **READ_ERRORS}, tags=["ending relationships"])
def list_terminations(request, page: Query[PageParams], status: TerminationStatus | None = None):
    """Requests to end a relationship on the customers you may see (a manager: the team's),
    newest first; `status=pending` for those waiting for a decision."""
    qs = selectors.termination_list(actor=request.user, status=status)
    return paginate(qs, page)


@router.get(
    "/terminations/{int:termination_id}",
    response={200: TerminationOut, **READ_ERRORS},
    tags=["ending relationships"],
)
def get_termination(request, termination_id: int):
    return _get(request, termination_id)


@router.post(
    "/terminations/{int:termination_id}/approve",
    response={200: TerminationOut, **DECISION_ERRORS},
    tags=["ending relationships"],
)
def approve_termination(request, termination_id: int, payload: TerminationDecisionIn):
    """End the relationship (managers of the customer's team, admins). Refused (409, with
    `open_orders` and `open_tasks`) while orders are pending, paid or shipped or tasks are
    open; afterwards the customer is "terminated": its records read-only, never contacted."""
    done = services.termination_approve(
        actor=request.user, request=_get(request, termination_id), note=payload.note
    )
    return _get(request, done.pk)


@router.post(
    "/terminations/{int:termination_id}/reject",
    response={200: TerminationOut, **ERRORS},
    tags=["ending relationships"],
)
def reject_termination(request, termination_id: int, payload: TerminationDecisionIn):
    """Turn the request down, with a note saying why (managers of the team, admins)."""
    done = services.termination_reject(
        actor=request.user, request=_get(request, termination_id), note=payload.note
    )
    return _get(request, done.pk)


@router.post(
    "/terminations/{int:termination_id}/withdraw",
    response={200: TerminationOut, **ERRORS},
    tags=["ending relationships"],
)
def withdraw_termination(request, termination_id: int):
    """Take the request back (its requester, or a manager who could decide on it)."""
    done = services.termination_withdraw(actor=request.user, request=_get(request, termination_id))
    return _get(request, done.pk)
