"""Times people type or send, turned into timezone-aware datetimes the database can hold."""

from datetime import datetime

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

# Year 1 or 9999 with a UTC offset overflows when the database converts it to UTC.
EARLIEST_YEAR, LATEST_YEAR = 1900, 2999


def out_of_range_message() -> str:
    return _("Give a time between the years %(lo)d and %(hi)d.") % {
        "lo": EARLIEST_YEAR,
        "hi": LATEST_YEAR,
    }


def aware_datetime(value) -> datetime:
    """A datetime or ISO 8601 text as an aware datetime; ValueError says what is wrong."""
    if not isinstance(value, datetime):
        try:
            parsed = parse_datetime(str(value).strip())
        except ValueError:
            parsed = None
        if parsed is None:
            raise ValueError(_("Not a date and time (use ISO 8601)."))
        value = parsed
    if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        raise ValueError(out_of_range_message())
    return timezone.make_aware(value) if timezone.is_naive(value) else value
