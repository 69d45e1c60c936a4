"""The 360° customer page: everything known about one customer, on one screen."""

import phonenumbers
from django.contrib import messages
from django.db.models import Count, Sum
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext

from guanxi.accounts import access
from guanxi.accounts.selectors import audit_for_customer
from guanxi.core.errors import GuanxiError, NotFound
from guanxi.interactions.choices import EventKind
from guanxi.interactions.selectors import open_tasks, timeline_for_customer
from guanxi.interactions.timeline import describe
from guanxi.orders.choices import REVENUE_STATUSES
from guanxi.orders.selectors import order_list

from .choices import CustomerKind, Stage
from .forms import StageForm
from .models import Customer
from .selectors import contact_list, custom_field_definitions, customer_get, duplicates_of
from .services import customer_change_stage
from .termination_views import termination_context

STAGE_VARIANTS = {
    Stage.LEAD: "default",
    Stage.NEW: "info",
    Stage.ACTIVE: "success",
    Stage.AT_RISK: "warning",
    Stage.CHURNED: "danger",
    Stage.TERMINATED: "default",
}
EVENT_ICONS = {
    EventKind.CREATED: "person_add",
    EventKind.UPDATED: "edit",
    EventKind.STAGE_CHANGED: "flag",
    EventKind.OWNER_CHANGED: "swap_horiz",
    EventKind.TAGGED: "sell",
    EventKind.CONTACT: "contacts",
    EventKind.INTERACTION: "forum",
    EventKind.ORDER: "receipt_long",
    EventKind.TASK_CREATED: "add_task",
    EventKind.TASK_DONE: "task_alt",
    EventKind.MERGED: "call_merge",
    EventKind.UNMERGED: "call_split",
    EventKind.CHANNEL: "hub",
    EventKind.TERMINATION: "block",
    EventKind.LOYALTY: "loyalty",
}
INTERACTION_ICONS = {
    "call": "call",
    "email": "mail",
    "meeting": "groups",
    "visit": "directions_walk",
    "chat": "chat",
    "social": "share",
    "note": "sticky_note_2",
}
OBJECT_ADMIN_URLS = {
    "interactions.interaction": "admin:interactions_interaction_change",
    "interactions.task": "admin:interactions_task_change",
    "orders.order": "admin:orders_order_change",
}


def format_phone(e164: str) -> str:
    """+8613800138000 → "+86 138 0013 8000": easier to read aloud on the phone."""
    try:
        return phonenumbers.format_number(
            phonenumbers.parse(e164), phonenumbers.PhoneNumberFormat.INTERNATIONAL
        )
    except phonenumbers.NumberParseException:
        return e164


def _visible_customer(request, object_id) -> Customer:
    try:
        return customer_get(actor=request.user, customer_id=object_id)
    except NotFound as e:
        raise Http404(gettext("Customer not found.")) from e


def _timeline(customer_id: int) -> list[dict]:
    rows = []
    for event in timeline_for_customer(customer_id=customer_id, limit=100):
        icon = EVENT_ICONS.get(event.kind, "circle")
        if event.kind == EventKind.INTERACTION:
            icon = INTERACTION_ICONS.get(event.data.get("kind"), icon)
        url = ""
        if event.object_id and event.object_model in OBJECT_ADMIN_URLS:
            url = reverse(OBJECT_ADMIN_URLS[event.object_model], args=[event.object_id])
        rows.append(
            {
                "event": event,
                "text": describe(event),
                "icon": icon,
                "url": url,
                "kind": event.kind,
            }
        )
    return rows


def _custom_fields(customer: Customer) -> list[dict]:
    values = customer.custom_fields or {}
    return [
        {"label": d.label, "value": values[d.key]}
        for d in custom_field_definitions(active_only=False)
        if values.get(d.key) not in (None, "")
    ]


def _value(actor, customer_id: int) -> dict:
    from guanxi.analytics.selectors import customer_value

    value = customer_value(actor=actor, customer_id=customer_id)
    if value["p_alive"] is not None:
        value["p_alive_percent"] = round(value["p_alive"] * 100)
    return value


def _segmentation(actor, customer_id: int) -> dict:
    """Tier, behaviour tags (with their rules), segments and any churn warning (segments)."""
    from guanxi.core.charts import money
    from guanxi.segments import selectors as segments
    from guanxi.segments.services.lifecycle import reason_text

    found = segments.customer_segments(actor=actor, customer_id=customer_id)
    churn = segments.open_churn_case(actor=actor, customer_id=customer_id)
    return {
        **found,
        "tier": segments.customer_tier(actor=actor, customer_id=customer_id),
        "tier_moves": list(segments.tier_moves(actor=actor, customer_id=customer_id)[:3]),
        "churn": churn,
        "churn_value": money(churn.value_at_risk) if churn else "",
        "churn_reasons": [reason_text(r) for r in churn.reasons] if churn else [],
    }


def _loyalty(request, customer: Customer, *, open_relationship: bool) -> dict:
    """The customer's membership (balance, tier and progress, latest entries, self-service
    link) and what the viewer may do with it (loyalty)."""
    from guanxi.loyalty import selectors as loyalty
    from guanxi.loyalty.choices import QualifyBy, RedemptionStatus
    from guanxi.loyalty.services.members import self_service_token

    actor = request.user
    owner_known = {"owner_id": customer.owner_id, "record_owner_known": True}
    may_serve = open_relationship and access.can(actor, "loyalty.serve", **owner_known)
    try:
        member = loyalty.member_get(actor=actor, customer_id=customer.pk)
    except NotFound:
        return {"member": None, "may_enrol": may_serve}
    progress = loyalty.member_progress(member=member)
    following = progress["next"]
    percent = None
    if following is not None and following.threshold > 0:
        percent = min(round(progress["value"] / following.threshold * 100), 100)
    token = self_service_token(member)
    return {
        "member": member,
        "progress": progress,
        "percent": percent,
        "by_points": progress["qualify_by"] == QualifyBy.POINTS,
        "entries": list(loyalty.member_ledger(member=member)[:10]),
        "coupons": [
            r
            for r in loyalty.member_redemptions(member=member)[:20]
            if r.code and r.status == RedemptionStatus.ISSUED
        ][:5],
        "referrals": loyalty.member_referrals(member=member),
        "rewards": list(loyalty.reward_list(member=member)) if may_serve else [],
        "self_service": request.build_absolute_uri(reverse("loyalty_self_service", args=[token])),
        "may_serve": may_serve,
        "may_adjust": open_relationship and access.can(actor, "loyalty.adjust", **owner_known),
    }


def customer_360(request, object_id, model_admin):
    """Profile, contacts, one timeline, orders, open tasks, stage history and audit trail."""
    actor = request.user
    customer = _visible_customer(request, object_id)
    owner_known = {"owner_id": customer.owner_id, "record_owner_known": True}
    orders_qs = order_list(actor=actor, customer_id=customer.pk)
    order_totals = orders_qs.filter(status__in=REVENUE_STATUSES).aggregate(
        revenue=Sum("total"), n=Count("id")
    )
    can_edit = model_admin.has_change_permission(request, customer)
    termination = termination_context(request, customer)
    # Once the relationship has ended, the records are read-only and nobody contacts them.
    open_relationship = not termination["terminated"]
    context = {
        **model_admin.admin_site.each_context(request),
        "title": customer.name,
        "opts": Customer._meta,
        "customer": customer,
        "original": customer,
        "stage_variant": STAGE_VARIANTS.get(customer.stage, "default"),
        "initial": (customer.name or "?")[:1].upper(),
        "is_company": customer.kind == CustomerKind.COMPANY,
        "phones": [(p, format_phone(p.number)) for p in customer.phones.all()],
        "emails": list(customer.emails.all()),
        "tags": list(customer.tags.all()),
        "addresses": list(customer.addresses.all()),
        "custom_fields": _custom_fields(customer),
        "contacts": list(contact_list(actor=actor, customer_id=customer.pk)[:50])
        if customer.kind == CustomerKind.COMPANY
        else [],
        "timeline": _timeline(customer.pk),
        "orders": list(orders_qs[:10]),
        "order_count": order_totals["n"] or 0,
        "order_revenue": order_totals["revenue"],
        "tasks": list(open_tasks(actor=actor, customer_id=customer.pk)[:20]),
        "stage_history": list(customer.stage_changes.select_related("actor")[:20]),
        "audit": audit_for_customer(actor=actor, customer_id=customer.pk, limit=30),
        "can_edit": can_edit,
        "can_delete": model_admin.has_delete_permission(request, customer),
        "can_log": open_relationship and access.can(actor, "interaction.log", **owner_known),
        "can_task": open_relationship and access.can(actor, "task.write", **owner_known),
        "can_order": open_relationship and access.can(actor, "order.write", **owner_known),
        "can_contact": can_edit and customer.kind == CustomerKind.COMPANY,
        "stage_form": StageForm(initial={"stage": customer.stage}) if can_edit else None,
        "duplicates": duplicates_of(actor=actor, customer_id=customer.pk)[:5],
        "value": _value(actor, customer.pk),
        "segmentation": _segmentation(actor, customer.pk),
        "loyalty": _loyalty(request, customer, open_relationship=open_relationship),
        **termination,
    }
    request.current_app = model_admin.admin_site.name
    return TemplateResponse(request, "guanxi/customers/customer_360.html", context)


def customer_stage(request, object_id, model_admin):
    """The 360 page's "change stage" form: customer_change_stage, then back to the page."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    customer = _visible_customer(request, object_id)
    form = StageForm(request.POST)
    if form.is_valid():
        try:
            customer_change_stage(
                actor=request.user,
                customer=customer,
                stage=form.cleaned_data["stage"],
                cause=form.cleaned_data["cause"],
            )
            messages.success(
                request,
                gettext("Stage changed to %(stage)s.") % {"stage": customer.get_stage_display()},
            )
        except GuanxiError as error:
            for field_messages in error.errors.values() or [[error.message]]:
                for message in field_messages:
                    messages.error(request, message)
    else:
        for field, errors in form.errors.items():
            for message in errors:
                messages.error(request, f"{form.fields[field].label}: {message}")
    return HttpResponseRedirect(reverse("admin:customers_customer_360", args=[customer.pk]))
