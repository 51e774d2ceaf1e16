"""API field values a database can store.

DRF accepts ``0001-01-01T00:00`` (or ``9999-12-31T23:59-05:00``) for a date-time field, then the
database driver fails converting it to UTC: a 500. ``install()`` (called when the app is ready)
makes every serializer date-time field refuse it with a 400 and a message instead.
"""

from datetime import UTC

from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import serializers

_enforce_timezone = serializers.DateTimeField.enforce_timezone


def _enforce_timezone_within_calendar(self, value):
    try:
        value = _enforce_timezone(self, value)
        (timezone.make_aware(value) if timezone.is_naive(value) else value).astimezone(UTC)
    except (OverflowError, ValueError) as e:
        raise serializers.ValidationError(
            _("This date and time is outside the calendar that can be stored (years 1 to 9999 in UTC)."),
            code="out_of_range",
        ) from e
    return value


def install() -> None:
    serializers.DateTimeField.enforce_timezone = _enforce_timezone_within_calendar
