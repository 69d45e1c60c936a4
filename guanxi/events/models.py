"""What the other channels tell us about customers: events, and each channel's id of a person."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from .choices import EventChannel


class ChannelIdentity(models.Model):
    """A customer's id in another system (the web shop's user id, a WeChat openid …)."""

    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="channel_identities",
    )
    channel = models.CharField(_("channel"), max_length=20, choices=EventChannel.choices)
    external_id = models.CharField(_("id in the channel"), max_length=200)
    created_at = models.DateTimeField(_("first seen"), auto_now_add=True)

    class Meta:
        verbose_name = _("channel identity")
        verbose_name_plural = _("channel identities")
        constraints = [
            models.UniqueConstraint(fields=["channel", "external_id"], name="uniq_channel_identity")
        ]

    def __str__(self):
        return f"{self.channel}:{self.external_id}"


class CustomerEvent(models.Model):
    """One thing a customer did in a channel: viewed a page, opened an email, visited a store."""

    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="events",
    )
    channel = models.CharField(_("channel"), max_length=20, choices=EventChannel.choices)
    kind = models.CharField(_("event"), max_length=40)
    occurred_at = models.DateTimeField(_("time"))
    received_at = models.DateTimeField(_("received"), auto_now_add=True)
    # The sender's key for this event: a retry with the same key is recognised, not stored twice.
    idempotency_key = models.CharField(max_length=200, null=True, blank=True, unique=True)
    identifiers = models.JSONField(_("identifiers"), default=dict, blank=True)
    payload = models.JSONField(_("details"), default=dict, blank=True)

    class Meta:
        verbose_name = _("channel event")
        verbose_name_plural = _("channel events")
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["customer", "-occurred_at"], name="event_customer_at"),
            models.Index(fields=["kind", "occurred_at"], name="event_kind_at"),
            # Who did how much in a time window (segments), from the index alone.
            models.Index(fields=["occurred_at", "customer", "kind"], name="event_at_cover"),
        ]

    def __str__(self):
        return f"{self.customer_id} {self.channel}/{self.kind} {self.occurred_at:%Y-%m-%d}"
