"""Notifications: a message to one user, stored as an untranslated source text and its
parameters, so each viewer reads it in their own language and the email in the site's."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _


def render_text(msgid: str, params: dict | None) -> str:
    """A stored source text in the active language, with its parameters filled in.

    A text whose translation has gone wrong (a placeholder renamed in the catalogue) falls
    back to the source text rather than breaking the page that shows it.
    """
    if not msgid:
        return ""
    translated = gettext(msgid)
    if not params:
        return translated
    for text in (translated, msgid):
        try:
            return text % params
        except (KeyError, ValueError, TypeError):
            continue
    return msgid


class Notification(models.Model):
    """One message to one user: unread until they open it (or mark all as read)."""

    # The composite indexes below start with the recipient, so the FK needs none of its own.
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recipient"),
        on_delete=models.CASCADE,
        related_name="notifications",
        db_index=False,
    )
    kind = models.CharField(_("kind"), max_length=40)
    # Source texts (English msgids, marked with gettext_noop by the caller) and their
    # parameters; rendered with render_text at display time.
    title = models.CharField(_("title"), max_length=255)
    body = models.TextField(_("text"), blank=True)
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    url = models.CharField(_("link"), max_length=500, blank=True)
    # A plain id, not a foreign key: a notification is what was said at the time, it must not
    # make deleting or merging a customer touch this table, and the link it carries is checked
    # by the customer's own page when opened. `notifications` thus depends on no customer app.
    customer_id = models.BigIntegerField(_("customer"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)
    emailed_at = models.DateTimeField(_("emailed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["recipient", "-created_at", "-id"], name="notification_recipient_new"
            ),
            # The unread ones of a user, newest first, and their count (the sidebar badge).
            models.Index(
                fields=["recipient", "-created_at", "-id"],
                condition=models.Q(read_at__isnull=True),
                name="notification_unread_new",
            ),
            # "Was this customer already flagged for this reason lately?" (callers' de-dup).
            models.Index(
                fields=["kind", "customer_id", "created_at"], name="notification_kind_cust"
            ),
        ]

    def __str__(self):
        return self.title_text

    @property
    def title_text(self) -> str:
        return render_text(self.title, self.params)

    @property
    def body_text(self) -> str:
        return render_text(self.body, self.params)

    @property
    def is_unread(self) -> bool:
        return self.read_at is None
