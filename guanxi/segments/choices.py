from django.db import models
from django.utils.translation import gettext_lazy as _


class SegmentKind(models.TextChoices):
    DYNAMIC = "dynamic", _("Dynamic (kept current by its rules)")
    STATIC = "static", _("Static (a frozen list)")


class SegmentPurpose(models.TextChoices):
    """A behaviour tag is a dynamic segment whose members carry the tag on their page."""

    SEGMENT = "segment", _("Segment")
    BEHAVIOUR_TAG = "tag", _("Behaviour tag")
