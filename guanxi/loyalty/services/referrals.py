"""Referrals: a member's code brings a new customer, who is attributed on sign-up (the public
landing page) or at their first order (staff or the API); both are rewarded when that
customer's first order completes (`earning._referral_convert`)."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi.accounts import access
from guanxi.core.errors import Conflict, Errors, NotFound, ValidationFailed

from ..models import Member, Referral
from .members import member_ensure, member_record


def referrer_of(code: str) -> Member:
    member = (
        Member.objects.select_related("customer")
        .filter(referral_code=(code or "").strip().upper())
        .first()
    )
    if member is None:
        raise NotFound(errors={"code": [_("No such referral code.")]})
    return member


def _guard(referrer: Member, customer_id: int, *, phones=(), emails=(), device_id="") -> None:
    """Refuse self-referral and duplicates: the referrer themselves (by record, phone or
    email), someone referred already, or a device that already signed someone up."""
    from guanxi.customers.models import CustomerEmail, CustomerPhone
    from guanxi.orders.choices import OrderStatus
    from guanxi.orders.models import Order

    if customer_id == referrer.customer_id:
        raise Conflict(errors={"code": [_("A customer cannot refer themselves.")]})
    own_phones = set(
        CustomerPhone.objects.filter(customer_id=referrer.customer_id).values_list(
            "number", flat=True
        )
    )
    own_emails = set(
        CustomerEmail.objects.filter(customer_id=referrer.customer_id).values_list(
            "email", flat=True
        )
    )
    if own_phones & set(phones) or own_emails & set(emails):
        raise Conflict(errors={"code": [_("A customer cannot refer themselves.")]})
    if Referral.objects.filter(referred_id=customer_id).exists():
        raise Conflict(errors={"code": [_("This customer was referred already.")]})
    if device_id and Referral.objects.filter(device_id=device_id).exists():
        raise Conflict(
            errors={"device_id": [_("This device has already been used for a referral.")]}
        )
    if Order.objects.filter(customer_id=customer_id, status=OrderStatus.COMPLETED).exists():
        raise Conflict(errors={"code": [_("Only a new customer can be referred.")]})


def referral_attribute(*, actor, customer, code: str, device_id: str = "") -> Referral:
    """Attribute a customer (before their first order completes) to a member's code."""
    from guanxi.customers.models import CustomerEmail, CustomerPhone

    access.require_visible(actor, customer.owner_id)
    access.require_on_customer(actor, "loyalty.serve", customer)
    referrer = referrer_of(code)
    phones = CustomerPhone.objects.filter(customer=customer).values_list("number", flat=True)
    emails = CustomerEmail.objects.filter(customer=customer).values_list("email", flat=True)
    return _attach(referrer, customer, phones=list(phones), emails=list(emails),
                   device_id=device_id, actor=actor)  # fmt: skip


def _attach(referrer, customer, *, phones, emails, device_id, actor=None) -> Referral:
    _guard(referrer, customer.pk, phones=phones, emails=emails, device_id=device_id)
    now = timezone.now()
    try:
        with transaction.atomic():
            referral = Referral.objects.create(
                referrer=referrer, referred=customer, device_id=device_id[:100], at=now
            )
            referred = member_ensure(customer=customer, at=now, actor=actor)
            Member.objects.filter(pk=referred.pk, referred_by__isnull=True).update(
                referred_by=referrer
            )
            member_record(member=referrer, action="referred", at=now, referred=customer.pk,
                          name=customer.name)  # fmt: skip
    except IntegrityError:
        raise Conflict(errors={"code": [_("This customer was referred already.")]}) from None
    return referral


def referral_sign_up(*, code: str, data: dict, device_id: str = "") -> Referral:
    """The public landing page: a new person leaves name and phone or email under a code;
    they become a lead owned by the referrer's owner, attributed to the referrer."""
    from guanxi.accounts.models import User
    from guanxi.customers.choices import Stage
    from guanxi.customers.selectors import customers_by_keys
    from guanxi.customers.services.bulk import customer_prepare, customers_bulk_create
    from guanxi.customers.services.fields import active_definitions

    referrer = referrer_of(code)
    errors = Errors()
    name = str(data.get("name") or "").strip()
    phone = str(data.get("phone") or "").strip()
    email = str(data.get("email") or "").strip()
    if not name:
        errors.add("name", _("Please give your name."))
    if not phone and not email:
        errors.add("phone", _("Please give a phone number or an email address."))
    errors.raise_if_any()
    prepared = customer_prepare(
        data={"name": name, "phones": [phone] if phone else [], "emails": [email] if email else [],
              "stage": Stage.LEAD, "source": "referral"},
        definitions=active_definitions(),
    )  # fmt: skip
    phones = [p[0] if isinstance(p, tuple) else p for p in prepared.phones]
    found = customers_by_keys(phones=phones, emails=prepared.emails)
    if found["phone"] or found["email"]:
        # One answer whoever holds the number, so the page cannot tell a stranger whether a
        # phone or email belongs to a customer (the referrer's own included).
        raise Conflict(errors={"phone": [_(
            "A referral is for someone new to us; this phone number or email cannot take one."
        )]})  # fmt: skip
    owner = User.objects.filter(pk=referrer.customer.owner_id, is_active=True).first()
    actor = owner if access.can(owner, "customer.create") else (
        User.objects.filter(is_active=True, is_superuser=True).order_by("pk").first()
    )  # fmt: skip
    if actor is None:
        raise ValidationFailed(_("Referrals cannot be taken now."))
    prepared.owner_id = referrer.customer.owner_id
    with transaction.atomic():
        _guard(referrer, -1, phones=phones, emails=prepared.emails, device_id=device_id)
        [customer_id] = customers_bulk_create(
            actor=actor, customers=[prepared], cause=_("referred by a member"),
            event_data={"referral": referrer.referral_code}, unowned=prepared.owner_id is None,
        )  # fmt: skip
        from guanxi.customers.models import Customer

        customer = Customer.objects.get(pk=customer_id)
        return _attach(referrer, customer, phones=phones, emails=prepared.emails,
                       device_id=device_id)  # fmt: skip
