"""Formatting filters of Suivi's pages."""

import phonenumbers
from django import template

register = template.Library()


@register.filter
def phone(value: str) -> str:
    """A stored number (E.164, ``+3281223344``) as people write it: ``+32 81 22 33 44``."""
    if not value:
        return ""
    try:
        return phonenumbers.format_number(phonenumbers.parse(value), phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    except phonenumbers.NumberParseException:
        return value
