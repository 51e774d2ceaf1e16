"""Form values a database can store: a base every Suivi form mixes in.

A select posting an id beyond the 64-bit integer range, or a date and time that leaves the
calendar once converted to UTC (``0001-01-01T00:00`` in Brussels is in the year 0 in UTC), passes
Django's own field checks and then fails inside the database driver: a 500. Here each is a field
error in the user's language instead.

Decimal numbers are read by suivi.lib.numbers, as document lines are: a text input in the
user's language (``1 234,56`` in French, ``1.234,56`` in Dutch), a browser's number input as it
sends it (``1234.56``); an exponent (``1e3``, which Django reads as 1000) or an ambiguous value is
refused with a message. The field's own checks (decimal places, digits) follow.
"""

from datetime import UTC, datetime

from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext as _

from suivi.lib.ids import in_id_range
from suivi.lib.numbers import NumberError, parse_decimal


def _integer_pk(field: forms.ModelChoiceField) -> bool:
    target = field.queryset.model._meta.get_field(field.to_field_name) if field.to_field_name else None
    target = target or field.queryset.model._meta.pk
    return isinstance(target, models.IntegerField)  # AutoField and BigAutoField included


def _beyond_range(value) -> bool:
    try:
        return not in_id_range(int(str(value).strip()))
    except (TypeError, ValueError):
        return False  # not a number: the field's own check answers


def _check_choices(field: forms.ModelChoiceField, clean):
    def checked(value):
        values = value if isinstance(value, (list, tuple)) else [value]
        for v in values:
            if v not in field.empty_values and _beyond_range(v):
                raise ValidationError(
                    field.error_messages["invalid_choice"], code="invalid_choice", params={"value": v}
                )
        return clean(value)

    return checked


def _check_date_time(clean):
    def checked(value):
        result = clean(value)
        if isinstance(result, datetime):
            try:
                (timezone.make_aware(result) if timezone.is_naive(result) else result).astimezone(UTC)
            except (OverflowError, ValueError) as e:
                raise ValidationError(
                    _("This date and time is outside the calendar that can be stored (years 1 to 9999 in UTC)."),
                    code="out_of_range",
                ) from e
        return result

    return checked


def _check_integer(clean):
    def checked(value):
        result = clean(value)
        if isinstance(result, int) and not in_id_range(result):
            raise ValidationError(_("This number is too large."), code="max_value")
        return result

    return checked


def _read_decimal(field: forms.DecimalField, to_python):
    number_input = getattr(field.widget, "input_type", "") == "number"

    def read(value):
        if isinstance(value, str) and value.strip():
            try:
                return parse_decimal(value, "" if number_input else None)
            except NumberError as e:
                raise ValidationError(e.message, code="invalid") from e
        return to_python(value)

    return read


class StorableValues:
    """Refuses, field by field, the values that would overflow the database."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if isinstance(field, forms.ModelChoiceField):  # ModelMultipleChoiceField included
                if _integer_pk(field):
                    field.clean = _check_choices(field, field.clean)
            elif isinstance(field, forms.DateTimeField):
                field.clean = _check_date_time(field.clean)
            elif isinstance(field, forms.DecimalField):
                field.to_python = _read_decimal(field, field.to_python)
            elif isinstance(field, forms.IntegerField):
                field.clean = _check_integer(field.clean)
