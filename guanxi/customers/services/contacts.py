"""Writes of the contact people at company customers, one at a time and set-based."""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi.accounts import access
from guanxi.accounts.audit import audit_record, diff
from guanxi.accounts.choices import AuditAction
from guanxi.core.errors import Errors, ValidationFailed
from guanxi.interactions.choices import EventKind
from guanxi.interactions.timeline import timeline_record

from ..choices import CustomerKind
from ..cleaning import (
    fold,
    normalize_email,
    normalize_phone,
)
from ..models import (
    Contact,
    Customer,
)
from .fields import _sync_search_keys
from .termination import require_not_terminated

CONTACT_FIELDS = ("name", "title", "phone", "email", "is_primary", "notes")


def _clean_contact(data: dict, *, partial: bool) -> dict:
    errors = Errors()
    for field in set(data) - set(CONTACT_FIELDS) - {"customer"}:
        errors.add(field, _("Unknown field."))
    out = {}
    for field in ("name", "title", "notes"):
        if field in data:
            out[field] = fold(data[field] or "") if field != "notes" else (data[field] or "")
    if (not partial or "name" in data) and not out.get("name"):
        errors.add("name", _("This field is required."))
    if len(out.get("name", "")) > 100:
        errors.add("name", _("At most %(n)d characters.") % {"n": 100})
    if len(out.get("title", "")) > 100:
        errors.add("title", _("At most %(n)d characters.") % {"n": 100})
    if data.get("phone"):
        try:
            out["phone"] = normalize_phone(str(data["phone"]))[0]
        except ValueError as e:
            errors.add("phone", e)
    elif "phone" in data:
        out["phone"] = ""
    if data.get("email"):
        try:
            out["email"] = normalize_email(str(data["email"]))
        except ValueError as e:
            errors.add("email", e)
    elif "email" in data:
        out["email"] = ""
    if "is_primary" in data:
        out["is_primary"] = bool(data["is_primary"])
    errors.raise_if_any()
    return out


def _after_contact_change(actor, customer, contact_name, action, contact=None, changes=None):
    _sync_search_keys(customer)
    Customer.objects.filter(pk=customer.pk).update(
        search_text=customer.search_text, updated_at=timezone.now()
    )
    timeline_record(
        customer_id=customer.pk,
        kind=EventKind.CONTACT,
        actor=actor,
        data={"name": contact_name, "action": action},
    )
    audit_record(
        actor=actor,
        action=action,
        instance=contact,
        model="customers.contact",
        object_id=contact.pk if contact else None,
        object_repr=contact_name,
        customer_id=customer.pk,
        changes=changes or {},
    )


def contact_create(*, actor, customer: Customer, data: dict) -> Contact:
    """Add a contact person to a company customer."""
    access.require_visible(actor, customer.owner_id)
    access.require_on_customer(actor, "customer.edit", customer)
    require_not_terminated(customer)
    if customer.kind != CustomerKind.COMPANY:
        raise ValidationFailed(errors={"customer": [_("Contacts belong to company customers.")]})
    clean = _clean_contact(data, partial=False)
    with transaction.atomic():
        if clean.get("is_primary"):
            customer.contacts.update(is_primary=False)
        contact = Contact.objects.create(customer=customer, **clean)
        _after_contact_change(
            actor,
            customer,
            contact.name,
            AuditAction.CREATE,
            contact,
            {k: [None, v] for k, v in clean.items() if v},
        )
    return contact


def contact_update(*, actor, contact: Contact, data: dict) -> Contact:
    customer = contact.customer
    access.require_visible(actor, customer.owner_id)
    access.require_on_customer(actor, "customer.edit", customer)
    require_not_terminated(customer)
    clean = _clean_contact(data, partial=True)
    before = {f: getattr(contact, f) for f in CONTACT_FIELDS}
    with transaction.atomic():
        if clean.get("is_primary"):
            customer.contacts.exclude(pk=contact.pk).update(is_primary=False)
        for field, value in clean.items():
            setattr(contact, field, value)
        contact.save()
        changes = diff(before, {f: getattr(contact, f) for f in CONTACT_FIELDS})
        if changes:
            _after_contact_change(
                actor, customer, contact.name, AuditAction.UPDATE, contact, changes
            )
    return contact


def contact_delete(*, actor, contact: Contact) -> None:
    customer = contact.customer
    access.require_visible(actor, customer.owner_id)
    access.require_on_customer(actor, "customer.edit", customer)
    require_not_terminated(customer)
    with transaction.atomic():
        name, pk = contact.name, contact.pk
        contact.delete()
        contact.pk = pk
        _after_contact_change(actor, customer, name, AuditAction.DELETE, contact)
