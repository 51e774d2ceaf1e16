"""API field values a database can store.

DRF accepts ``0001-01-01T00:00`` (or ``9999-12-31T23:59-05:00``) for a date-time field, then the
database driver fails converting it to UTC: a 500. ``install()`` (called when the app is ready)
makes every serializer date-time field refuse it with a 400 and a message instead, and every
primary-key relation refuse an infinite or overflowing id as it refuses an unknown one.
"""

import math
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


_pk_to_internal_value = serializers.PrimaryKeyRelatedField.to_internal_value


def _pk_to_internal_value_within_range(self, data):
    # JSON's 1e400 is an infinite float, and int() of it overflows outside DRF's own checks.
    if isinstance(data, float) and not math.isfinite(data):
        self.fail("incorrect_type", data_type=type(data).__name__)
    try:
        return _pk_to_internal_value(self, data)
    except OverflowError:
        self.fail("does_not_exist", pk_value=data)


def install() -> None:
    serializers.DateTimeField.enforce_timezone = _enforce_timezone_within_calendar
    serializers.PrimaryKeyRelatedField.to_internal_value = _pk_to_internal_value_within_range
