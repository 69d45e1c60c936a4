"""Reads of channel events, visible exactly when their customer is."""

from django.db.models import QuerySet

from guanxi.accounts import access

from .models import CustomerEvent


def event_list(
    *, actor, customer_id=None, channel=None, kind=None, after=None, before=None
) -> QuerySet[CustomerEvent]:
    qs = access.scope_customer_children(CustomerEvent.objects.all(), actor)
    if customer_id is not None:
        qs = qs.filter(customer_id=customer_id)
    if channel:
        qs = qs.filter(channel=channel)
    if kind:
        qs = qs.filter(kind=kind)
    if after:
        qs = qs.filter(occurred_at__gte=after)
    if before:
        qs = qs.filter(occurred_at__lt=before)
    return qs.select_related("customer")


def event_rows() -> QuerySet[CustomerEvent]:
    """Every channel event, unscoped, for set-based queries whose customers the caller scopes."""
    return CustomerEvent.objects.all()
