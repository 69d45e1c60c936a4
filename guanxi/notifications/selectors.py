"""Reads of notifications. A user only ever sees their own: someone else's is NotFound."""

from collections.abc import Iterable
from datetime import datetime

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from guanxi.accounts import access
from guanxi.core.api import MAX_ID
from guanxi.core.errors import NotFound

from .models import Notification


def _own(actor) -> QuerySet[Notification]:
    # Notifications are private to their recipient whatever the role; someone without a role
    # (signed out, deactivated) has none.
    if access.role_of(actor) is None:
        return Notification.objects.none()
    return Notification.objects.filter(recipient_id=actor.pk)


def notification_list(*, actor, unread_only: bool = False) -> QuerySet[Notification]:
    """The actor's notifications, newest first (only the unread ones with `unread_only`)."""
    qs = _own(actor)
    if unread_only:
        qs = qs.filter(read_at__isnull=True)
    return qs.order_by("-created_at", "-id")


def unread_count(*, actor) -> int:
    """How many of the actor's notifications are unread."""
    return _own(actor).filter(read_at__isnull=True).count()


def notification_get(*, actor, notification_id) -> Notification:
    """One of the actor's notifications; NotFound for anyone else's, or no such id."""
    try:
        pk = int(notification_id)
    except (TypeError, ValueError):
        raise NotFound(_("Not found.")) from None
    if not 1 <= pk <= MAX_ID:
        raise NotFound(_("Not found."))
    try:
        return _own(actor).get(pk=pk)
    except Notification.DoesNotExist:
        raise NotFound(_("Not found.")) from None


def notified_customer_ids(*, kind: str, customer_ids: Iterable[int], since: datetime) -> set[int]:
    """Which of these customers already had a notification of this kind since `since`, to
    anyone: lets a nightly check (churn risk, segment alerts) warn about a customer once."""
    ids = list({int(i) for i in customer_ids})
    if not ids:
        return set()
    found: set[int] = set()
    for start in range(0, len(ids), 5000):  # within SQLite's limit of bound parameters
        found.update(
            Notification.objects.filter(
                kind=kind, customer_id__in=ids[start : start + 5000], created_at__gte=since
            )
            .values_list("customer_id", flat=True)
            .distinct()
        )
    return found
