"""The 360° page's part in ending a relationship (关系终止): the request form, the banner of
a waiting request with the settlement check, and the manager's approve / reject buttons."""

from django.contrib import messages
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext

from guanxi.accounts import access
from guanxi.core.errors import GuanxiError, NotFound
from guanxi.orders.choices import OrderStatus

from . import selectors, services
from .choices import Stage, TerminationStatus


def _page_360(customer_id) -> str:
    return reverse("admin:customers_customer_360", args=[customer_id])


def _report(request, error: GuanxiError) -> None:
    for field_messages in error.errors.values() or [[error.message]]:
        for message in field_messages:
            messages.error(request, message)


def termination_context(request, customer) -> dict:
    """What the 360° page shows about ending the relationship, for this actor."""
    actor = request.user
    owner_known = {"owner_id": customer.owner_id, "record_owner_known": True}
    ended = customer.stage == Stage.TERMINATED
    pending = None if ended else selectors.termination_pending(actor=actor, customer_id=customer.pk)
    may_decide = access.can(actor, "customer.terminate_approve", **owner_known)
    context = {
        "terminated": ended,
        "termination_pending": pending,
        "can_request_termination": not ended
        and pending is None
        and access.can(actor, "customer.edit", **owner_known),
        "can_decide_termination": pending is not None and may_decide,
        "can_withdraw_termination": pending is not None
        and (may_decide or pending.requested_by_id == actor.pk),
        "termination_settlement": None,
        "termination_approved": None,
    }
    if pending is not None:
        settlement = selectors.termination_settlement(actor=actor, customer_id=customer.pk)
        for order in settlement["open_orders"]:
            order["status_label"] = OrderStatus(order["status"]).label
        context["termination_settlement"] = settlement
    if ended:
        context["termination_approved"] = selectors.termination_list(
            actor=actor, customer_id=customer.pk, status=TerminationStatus.APPROVED
        ).first()
    return context


def termination_ask(request, object_id, model_admin):
    """The 360 page's "End relationship" form: termination_request, then back to the page."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    try:
        customer = selectors.customer_get(actor=request.user, customer_id=object_id)
    except NotFound as e:
        raise Http404(gettext("Customer not found.")) from e
    try:
        services.termination_request(
            actor=request.user, customer=customer, reason=request.POST.get("reason", "")
        )
        messages.success(
            request,
            gettext("Your request to end the relationship now waits for a manager's decision."),
        )
    except GuanxiError as error:
        _report(request, error)
    return HttpResponseRedirect(_page_360(customer.pk))


def termination_decide(request, object_id, model_admin):
    """Approve, reject or withdraw a request (the button pressed says which), then back to
    the page it was decided on: the customer's 360 page, or the list of requests."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    try:
        pending = selectors.termination_get(actor=request.user, request_id=object_id)
    except NotFound as e:
        raise Http404(gettext("Not found.")) from e
    decision, note = request.POST.get("decision"), request.POST.get("note", "")
    try:
        if decision == "approve":
            services.termination_approve(actor=request.user, request=pending, note=note)
            messages.success(
                request,
                gettext("The relationship with %(name)s has ended; its records are read-only.")
                % {"name": pending.customer.name},
            )
        elif decision == "reject":
            services.termination_reject(actor=request.user, request=pending, note=note)
            messages.success(request, gettext("The request was rejected."))
        elif decision == "withdraw":
            services.termination_withdraw(actor=request.user, request=pending)
            messages.success(request, gettext("The request was withdrawn."))
        else:
            messages.error(request, gettext("Choose approve, reject or withdraw."))
    except GuanxiError as error:
        _report(request, error)
    back = request.POST.get("next") or ""
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = ""
    return HttpResponseRedirect(back or _page_360(pending.customer_id))


def termination_page(request, object_id, model_admin):
    """A request's own address shows it where it is decided: on its customer's 360 page."""
    try:
        found = selectors.termination_get(actor=request.user, request_id=object_id)
    except NotFound as e:
        raise Http404(gettext("Not found.")) from e
    return HttpResponseRedirect(_page_360(found.customer_id) + "#termination")
