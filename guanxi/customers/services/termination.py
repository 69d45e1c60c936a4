"""Ending a relationship with a customer (关系终止): a request with a reason, a manager's
decision, and the customer kept read-only afterwards.

Anyone who may edit the customer asks (`termination_request`); a manager of the customer's
team or an admin approves once nothing is open (`termination_approve`: no order pending,
paid or shipped, no open task), which moves the customer to "terminated" through the stage
machinery, or rejects it with a note (`termination_reject`); the requester or a manager may
withdraw it while it waits (`termination_withdraw`). Each step is on the customer's timeline
and in the audit log. A terminated customer's records stay readable everywhere, but every
service that would change them, or contact the customer, refuses
(`require_not_terminated`); marketing leaves them out with `selectors.contactable_q()`.
"""

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from guanxi.accounts import access
from guanxi.accounts.audit import audit_record
from guanxi.accounts.choices import AuditAction
from guanxi.core.errors import Conflict, ValidationFailed
from guanxi.interactions.choices import EventKind
from guanxi.interactions.timeline import timeline_record

from ..choices import Stage, TerminationStatus
from ..models import Customer, TerminationRequest
from ..selectors import termination_settlement

REASON_MAX = 2000
NOTE_MAX = 2000
CAUSE_MAX = 255  # StageChange.cause


def _user(actor):
    return actor if actor is not None and getattr(actor, "is_authenticated", False) else None


def read_only_message() -> str:
    return _("The relationship with this customer has ended; its records are read-only.")


def require_not_terminated(customer: Customer | None) -> None:
    """Refuse (409) a write to, or contact with, a customer whose relationship has ended."""
    if customer is not None and customer.stage == Stage.TERMINATED:
        raise Conflict(errors={"customer": [read_only_message()]})


def _clean_text(value, field: str, *, required_message=None, limit: int) -> str:
    text = (value or "").strip()
    if required_message and not text:
        raise ValidationFailed(errors={field: [required_message]})
    if len(text) > limit:
        raise ValidationFailed(errors={field: [_("At most %(n)d characters.") % {"n": limit}]})
    return text


def _require_pending(request: TerminationRequest) -> None:
    if request.status != TerminationStatus.PENDING:
        raise Conflict(errors={"status": [_("This request is no longer waiting for a decision.")]})


def _require_decider(actor, customer: Customer) -> None:
    access.require_visible(actor, customer.owner_id)
    access.require_on_customer(actor, "customer.terminate_approve", customer)


def _record(actor, request: TerminationRequest, action: str, changes: dict, **data) -> None:
    timeline_record(
        customer_id=request.customer_id,
        kind=EventKind.TERMINATION,
        actor=actor,
        obj=request,
        data={"action": action, "request": request.pk, **data},
    )
    audit_record(
        actor=actor,
        action=AuditAction.CREATE if action == "requested" else AuditAction.UPDATE,
        instance=request,
        customer_id=request.customer_id,
        changes=changes,
    )


def termination_request(*, actor, customer: Customer, reason: str) -> TerminationRequest:
    """Ask to end the relationship with a customer, saying why; a manager decides."""
    access.require_visible(actor, customer.owner_id)
    access.require_on_customer(actor, "customer.edit", customer)
    if customer.stage == Stage.TERMINATED:
        raise Conflict(errors={"customer": [_("The relationship with this customer has ended.")]})
    reason = _clean_text(
        reason,
        "reason",
        required_message=_("Give the reason for ending the relationship."),
        limit=REASON_MAX,
    )
    already = Conflict(
        errors={
            "customer": [_("A request to end this relationship is already waiting for a decision.")]
        }
    )
    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=customer.pk)
        require_not_terminated(customer)
        if customer.termination_requests.filter(status=TerminationStatus.PENDING).exists():
            raise already
        try:
            with transaction.atomic():
                request = TerminationRequest.objects.create(
                    customer=customer,
                    reason=reason,
                    requested_by=_user(actor),
                    requested_at=timezone.now(),
                )
        except IntegrityError as e:  # another request was made at the same moment
            raise already from e
        _record(
            actor,
            request,
            "requested",
            {"status": [None, request.status], "reason": [None, reason]},
            reason=reason,
        )
    return request


def _settlement_conflict(settlement: dict) -> Conflict:
    orders, tasks = settlement["open_orders"], settlement["open_tasks"]
    parts = []
    if orders:
        parts.append(
            ngettext("%(n)d open order (%(list)s)", "%(n)d open orders (%(list)s)", len(orders))
            % {"n": len(orders), "list": ", ".join(o["number"] for o in orders[:10])}
        )
    if tasks:
        parts.append(
            ngettext("%(n)d open task (%(list)s)", "%(n)d open tasks (%(list)s)", len(tasks))
            % {"n": len(tasks), "list": ", ".join(f"“{t['title']}”" for t in tasks[:10])}
        )
    message = _(
        "Settle what is still open before ending the relationship: %(open)s. Complete, "
        "cancel or refund the orders and finish or cancel the tasks, then approve again."
    ) % {"open": "; ".join(parts)}
    return Conflict(
        message,
        errors={"customer": [message]},
        open_orders=orders,
        open_tasks=tasks,
    )


def termination_approve(
    *, actor, request: TerminationRequest, note: str = ""
) -> TerminationRequest:
    """Approve ending the relationship: refused (409, naming them) while orders or tasks
    are open; otherwise the customer becomes "terminated", with the reason as the cause."""
    from .customers import _stage_change  # which itself refuses "terminated" without this

    _require_decider(actor, request.customer)
    note = _clean_text(note, "note", limit=NOTE_MAX)
    with transaction.atomic():
        request = TerminationRequest.objects.select_for_update().get(pk=request.pk)
        _require_pending(request)
        customer = Customer.objects.select_for_update().get(pk=request.customer_id)
        require_not_terminated(customer)
        settlement = termination_settlement(actor=actor, customer_id=customer.pk)
        if settlement["open_orders"] or settlement["open_tasks"]:
            raise _settlement_conflict(settlement)
        now = timezone.now()
        request.status = TerminationStatus.APPROVED
        request.decided_by = _user(actor)
        request.decided_at = now
        request.decision_note = note
        request.settlement = {"checked_at": now.isoformat(), **settlement}
        request.save(
            update_fields=["status", "decided_by", "decided_at", "decision_note", "settlement"]
        )
        _record(
            actor,
            request,
            "approved",
            {"status": [TerminationStatus.PENDING, request.status], "decision_note": ["", note]},
            note=note,
        )
        old = customer.stage
        cause = request.reason if len(request.reason) <= CAUSE_MAX else request.reason[:254] + "…"
        _stage_change(actor, customer, Stage.TERMINATED, cause, termination=True)
        audit_record(
            actor=actor,
            action=AuditAction.UPDATE,
            instance=customer,
            customer_id=customer.pk,
            changes={"stage": [old, Stage.TERMINATED]},
        )
    request.customer = customer
    return request


def termination_reject(*, actor, request: TerminationRequest, note: str) -> TerminationRequest:
    """Turn a request down, saying why; the relationship goes on."""
    _require_decider(actor, request.customer)
    note = _clean_text(
        note, "note", required_message=_("Say why the request is rejected."), limit=NOTE_MAX
    )
    return _close(actor, request, TerminationStatus.REJECTED, note)


def termination_withdraw(*, actor, request: TerminationRequest) -> TerminationRequest:
    """Take a request back: its requester, or a manager who could decide on it."""
    customer = request.customer
    access.require_visible(actor, customer.owner_id)
    if _user(actor) is None or request.requested_by_id != actor.pk:
        access.require_on_customer(actor, "customer.terminate_approve", customer)
    return _close(actor, request, TerminationStatus.WITHDRAWN, "")


def _close(actor, request: TerminationRequest, status: str, note: str) -> TerminationRequest:
    with transaction.atomic():
        request = TerminationRequest.objects.select_for_update().get(pk=request.pk)
        _require_pending(request)
        request.status = status
        request.decided_by = _user(actor)
        request.decided_at = timezone.now()
        request.decision_note = note
        request.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
        changes = {"status": [TerminationStatus.PENDING, status]}
        if note:
            changes["decision_note"] = ["", note]
        _record(actor, request, status, changes, note=note)
    return request
