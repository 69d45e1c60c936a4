"""Segments and their membership history; written only by `segments.services`."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .choices import SegmentKind, SegmentPurpose


class Segment(models.Model):
    """A group of customers: by rules kept current (dynamic), or a frozen list (static)."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    description = models.TextField(_("description"), blank=True)
    kind = models.CharField(
        _("kind"), max_length=8, choices=SegmentKind.choices, default=SegmentKind.DYNAMIC
    )
    purpose = models.CharField(
        _("purpose"),
        max_length=8,
        choices=SegmentPurpose.choices,
        default=SegmentPurpose.SEGMENT,
        db_index=True,
    )
    definition = models.JSONField(_("rules"), default=dict, blank=True)
    # What the rules read (customer, orders, value, time …): which changes re-evaluate it.
    depends = models.JSONField(default=list, blank=True, editable=False)
    is_active = models.BooleanField(_("active"), default=True)
    source = models.CharField(_("made by"), max_length=100, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    member_count = models.PositiveIntegerField(_("members"), default=0)
    refreshed_at = models.DateTimeField(_("refreshed at"), null=True, blank=True)
    refresh_ms = models.PositiveIntegerField(_("refresh time (ms)"), null=True, blank=True)

    class Meta:
        verbose_name = _("segment")
        verbose_name_plural = _("segments")
        ordering = ["name"]

    def __str__(self):
        return self.name

    @property
    def is_dynamic(self) -> bool:
        return self.kind == SegmentKind.DYNAMIC


class SegmentMembership(models.Model):
    """One spell of a customer in a segment: entered, and left (null while a member)."""

    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="memberships")
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="segment_memberships"
    )
    entered_at = models.DateTimeField(_("entered"))
    left_at = models.DateTimeField(_("left"), null=True, blank=True)

    class Meta:
        verbose_name = _("segment membership")
        verbose_name_plural = _("segment memberships")
        ordering = ["-entered_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["segment", "customer"],
                condition=Q(left_at__isnull=True),
                name="segment_one_current_membership",
            )
        ]
        indexes = [
            models.Index(fields=["customer", "left_at"], name="seg_member_customer"),
            models.Index(fields=["segment", "entered_at"], name="seg_member_entered"),
            models.Index(fields=["segment", "left_at"], name="seg_member_left"),
        ]

    def __str__(self):
        return f"{self.segment_id}: {self.customer_id}"
