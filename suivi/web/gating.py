"""Structural gates of the pages: a CRM route is gated because of where it is declared.

``gated(patterns, gate)`` wraps every view of an URL include with ``login_required`` and the
gate, so a new CRM page cannot forget either. A closed feature answers 404 with the reason in
the user's language, inside Suivi's layout.
"""

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.urls import URLPattern, URLResolver

from suivi.core.company import company_settings
from suivi.core.gates import opportunities_refusal, refusal
from suivi.core.models import CompanySettings, CrmLevel

Gate = Callable[[CompanySettings], str | None]


def crm_gate(settings_obj: CompanySettings) -> str | None:
    return refusal(settings_obj)


def agenda_gate(settings_obj: CompanySettings) -> str | None:
    """The shared agenda and planning are CRM level M2 (S2a, S2c)."""
    return refusal(settings_obj, CrmLevel.FULL)


def opportunities_gate(settings_obj: CompanySettings) -> str | None:
    return opportunities_refusal(settings_obj)


def guard(view, gate: Gate):
    """``view`` behind login and ``gate``."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        reason = gate(company_settings(request))
        if reason:
            return render(request, "web/feature_off.html", {"reason": reason}, status=404)
        return view(request, *args, **kwargs)

    return login_required(wrapper)


def gated(patterns: list, gate: Gate) -> list:
    """``patterns`` with every view behind login and ``gate`` (nested includes too)."""
    for pattern in patterns:
        if isinstance(pattern, URLPattern):
            pattern.callback = guard(pattern.callback, gate)
        elif isinstance(pattern, URLResolver):
            gated(pattern.url_patterns, gate)
    return patterns
