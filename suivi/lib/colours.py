"""Colours typed by users (action types, categories): ``#rgb`` or ``#rrggbb`` and nothing else.

Pages put these values into CSS (a tag's colour), so anything else — ``red;}`` and the like — is
refused where it is written, with a message in the user's language."""

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

COLOUR = re.compile(r"#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})")


def is_colour(value: object) -> bool:
    return isinstance(value, str) and COLOUR.fullmatch(value) is not None


def colour_message() -> str:
    return str(_("Enter a colour as #rgb or #rrggbb, for example #0f5fa8."))


def validate_colour(value: object) -> None:
    """A Django validator (forms, serializers, admin)."""
    if not is_colour(value):
        raise ValidationError(colour_message(), code="invalid_colour")
