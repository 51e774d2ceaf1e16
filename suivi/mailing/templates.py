"""E-mail templates with merge fields (issue 10, point 2): written by users, run in the sandbox
with an allow-list of plain fields — the party, the contact, the sender, today — checked at save
with each problem's line, rendered when a mail is composed."""

from functools import cache
from typing import Any

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import override

from suivi.lib.sandbox import Sandbox
from suivi.lib.text import one_line
from suivi.lib.user_templates import TemplateProblem, check, render

FIELDS_HELP = (
    "party.name, party.code, party.city · contact.first_name, contact.last_name, contact.name · "
    "me.name, me.email · today"
)


@cache
def environment() -> Sandbox:
    return Sandbox(html=False, filters={})


def specimen() -> dict[str, Any]:
    return {
        "party": {"name": "Garage Dupont", "code": "C001", "city": "Namur"},
        "contact": {"first_name": "Jean", "last_name": "Dupont", "name": "Jean Dupont"},
        "me": {"name": "Olive Martin", "email": "olive@example.com"},
        "today": "01/01/2026",
    }


def problems(subject: str, body: str) -> dict[str, str]:
    """What is wrong with a template's subject and body, by field; empty when both render."""
    errors = {}
    for field, source in (("subject", subject), ("body", body)):
        found: list[TemplateProblem] = check(source, environment(), specimen())
        if found:
            errors[field] = " ".join(str(p) for p in found)
    return errors


def context(*, party=None, contact=None, user=None, language: str = "fr") -> dict[str, Any]:
    with override(language):
        today = date_format(timezone.localdate(), "SHORT_DATE_FORMAT")
    return {
        "party": {
            "name": party.name if party else "",
            "code": (party.code or "") if party else "",
            "city": (party.city or "") if party else "",
        },
        "contact": {
            "first_name": contact.first_name if contact else "",
            "last_name": contact.last_name if contact else "",
            "name": str(contact) if contact else "",
        },
        "me": {"name": str(user) if user else "", "email": (user.email or "") if user else ""},
        "today": today,
    }


def fill(template, values: dict[str, Any], language: str) -> tuple[str, str]:
    """The template's subject (one line) and body, rendered with ``values``."""
    subject = one_line(render(template.subject, environment(), values, language))
    body = render(template.body, environment(), values, language)
    return subject[:500], body
