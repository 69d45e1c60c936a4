"""Base models every app builds on. `core` depends on no other app."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class TimestampedModel(models.Model):
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        abstract = True


class OwnedModel(TimestampedModel):
    """A record with an owning user; ownership is what access rules scope by."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        # Indexed with created_at by the models (owner, -created_at): the lists of one
        # owner's records, newest first, and every lookup by owner alone.
        db_index=False,
    )

    class Meta:
        abstract = True
