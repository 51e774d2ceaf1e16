"""Filters of the API that read ids: an id beyond the database's 64-bit integer is refused with a
400 and a message, before any query (the database would overflow)."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django_filters import rest_framework as filters

from suivi.lib.ids import MAX_ID, parse_id


def not_an_id() -> ValidationError:
    return ValidationError(_("Enter an id: a whole number from 1 to %(max)s.") % {"max": MAX_ID}, code="invalid")


class IdField(forms.Field):
    def to_python(self, value):
        if value in self.empty_values:
            return None
        number = parse_id(value)
        if number is None:
            raise not_an_id()
        return number


class IdFilter(filters.NumberFilter):
    """One id, compared with ``exact``."""

    field_class = IdField
