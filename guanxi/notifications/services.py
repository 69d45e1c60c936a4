"""Writes of notifications: `notify` (what other apps call), marking read, sending emails."""

import json
import logging
import re
from collections.abc import Iterable

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from guanxi.core.api import MAX_ID, has_nul
from guanxi.core.errors import Errors

from . import selectors
from .models import Notification

log = logging.getLogger("guanxi.notifications")

KIND = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,39}$")
TITLE_MAX = Notification._meta.get_field("title").max_length
URL_MAX = Notification._meta.get_field("url").max_length
BODY_MAX = 10_000


def _check_text(errors: Errors, field: str, text: str, params: dict) -> None:
    """A source text must format with its parameters, so every viewer can read it."""
    if params:
        try:
            text % params
        except (KeyError, ValueError, TypeError) as e:
            errors.add(field, _("Does not format with the parameters: %(e)s") % {"e": e})
    elif "%(" in text:
        errors.add(field, _("Names parameters, but none were given."))


def _validate(*, kind, title, params, body, url, customer_id) -> None:
    errors = Errors()
    if not isinstance(kind, str) or not KIND.match(kind):
        errors.add("kind", _("A short code of lower-case letters, digits, _ . or -."))
    if type(title) is not str or type(body) is not str:
        # A lazy or translated text would be stored in one language: store the source text.
        errors.add("__all__", _("Pass title and body as source texts marked with gettext_noop."))
        title, body = str(title), str(body)
    if not title.strip():
        errors.add("title", _("This field is required."))
    elif len(title) > TITLE_MAX:
        errors.add("title", _("At most %(n)d characters.") % {"n": TITLE_MAX})
    elif "\n" in title or "\r" in title:
        errors.add("title", _("One line, without line breaks."))
    if len(body) > BODY_MAX:
        errors.add("body", _("At most %(n)d characters.") % {"n": BODY_MAX})
    if not isinstance(params, dict) or not all(isinstance(k, str) for k in params):
        errors.add("params", _("Must be an object with text keys."))
        params = {}
    try:
        json.dumps(params)
    except (TypeError, ValueError):
        errors.add("params", _("Values must be text, numbers, true/false or null."))
        params = {}
    if not errors:
        _check_text(errors, "title", title, params)
        if body:
            _check_text(errors, "body", body, params)
    if has_nul([kind, title, body, url, params]):
        errors.add("__all__", _("Text may not contain NUL characters."))
    if not isinstance(url, str) or len(url) > URL_MAX:
        errors.add("url", _("At most %(n)d characters.") % {"n": URL_MAX})
    elif url and not (
        url.startswith("/") and url_has_allowed_host_and_scheme(url, allowed_hosts=set())
    ):
        # Only links inside Guanxi: the notification centre redirects to them.
        errors.add("url", _("Must be a path inside Guanxi, starting with /."))
    if customer_id is not None and (
        isinstance(customer_id, bool) or not isinstance(customer_id, int)
        or not 1 <= customer_id <= MAX_ID
    ):  # fmt: skip
        errors.add("customer_id", _("Must be a customer id."))
    errors.raise_if_any()


def notify(
    *,
    recipients: Iterable,
    kind: str,
    title: str,
    params: dict | None = None,
    body: str = "",
    url: str = "",
    customer_id: int | None = None,
    email: bool = True,
) -> list[Notification]:
    """Notify users (User objects or ids; inactive ones are skipped) in one insert, and email
    those with an address once the current transaction commits.

    `title` and `body` are source texts marked with `gettext_noop`, formatted with `params`
    when shown (`gettext(title) % params`), so each reader sees their own language. Choose
    recipients who may see the customer the notification is about: its text is shown as is.
    """
    params = {} if params is None else params
    _validate(kind=kind, title=title, params=params, body=body, url=url, customer_id=customer_id)
    params = dict(params)
    ids = {r if isinstance(r, int) else r.pk for r in recipients}
    if not ids:
        return []
    users = (
        get_user_model()
        .objects.filter(pk__in=ids, is_active=True)
        .order_by("pk")
        .values_list("pk", "email")
    )
    users = list(users)
    now = timezone.now()
    created = Notification.objects.bulk_create(
        [
            Notification(
                recipient_id=pk, kind=kind, title=title, body=body, params=params, url=url,
                customer_id=customer_id, created_at=now,
            )
            for pk, _email in users
        ]
    )  # fmt: skip
    if email:
        with_address = {pk for pk, address in users if address}
        to_email = [n.pk for n in created if n.recipient_id in with_address]
        if to_email:
            transaction.on_commit(lambda: _enqueue_emails(to_email))
    return created


def _enqueue_emails(notification_ids: list[int]) -> None:
    from .tasks import send_notification_emails

    send_notification_emails.enqueue(notification_ids)


def notification_mark_read(*, actor, notification_id) -> Notification:
    """Mark one of the actor's notifications read (again: no change); NotFound otherwise."""
    notification = selectors.notification_get(actor=actor, notification_id=notification_id)
    if notification.read_at is None:
        now = timezone.now()
        Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(read_at=now)
        notification.read_at = now
    return notification


def notifications_mark_all_read(*, actor) -> int:
    """Mark all of the actor's unread notifications read; returns how many."""
    return selectors.notification_list(actor=actor, unread_only=True).update(read_at=timezone.now())


def _email_text(notification: Notification) -> tuple[str, str]:
    """Subject and text of a notification's email, in the active language."""
    subject = notification.title_text
    lines = [notification.body_text] if notification.body else [subject]
    base = getattr(settings, "GUANXI_SITE_URL", "").rstrip("/")
    if base:
        path = reverse("admin:notifications_notification_open", args=[notification.pk])
        lines.append(_("Open: %(url)s") % {"url": base + path})
    lines.append(_("All your notifications are under Notifications in Guanxi."))
    return subject, "\n\n".join(lines)


def notification_emails_send(*, notification_ids: list[int]) -> int:
    """Email these notifications to their recipients, each once, in the site's language
    (settings.LANGUAGE_CODE); returns how many were sent."""
    now = timezone.now()
    # Claim them first with this run's timestamp, so two workers never send one twice.
    Notification.objects.filter(
        pk__in=notification_ids, emailed_at__isnull=True, recipient__is_active=True
    ).exclude(recipient__email="").update(emailed_at=now)
    claimed = Notification.objects.filter(pk__in=notification_ids, emailed_at=now).select_related(
        "recipient"
    )
    sent, failed = 0, []
    with translation.override(settings.LANGUAGE_CODE):
        for notification in claimed:
            subject, text = _email_text(notification)
            subject = " ".join(subject.split())  # a parameter's line break is no mail header
            try:
                send_mail(subject, text, None, [notification.recipient.email])
            except OSError:  # the mail server is down: log it, and say it was not emailed
                log.exception("notification %s not emailed", notification.pk)
                failed.append(notification.pk)
                continue
            sent += 1
    if failed:
        Notification.objects.filter(pk__in=failed).update(emailed_at=None)
    return sent
