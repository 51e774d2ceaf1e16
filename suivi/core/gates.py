"""Feature gates (S1 CRM on/off, S2 level M1/M2): one decorator for pages, one permission for the API.

When the CRM option is off, every CRM page and endpoint answers 404 with a message saying so;
data is kept. M2 features answer 404 at level M1 the same way.
"""

from functools import wraps

from django.shortcuts import render
from django.utils.translation import gettext as _

from .models import CompanySettings, CrmLevel


def company_settings(request=None) -> CompanySettings:
    """The company settings, read once per request."""
    if request is not None and hasattr(request, "_suivi_settings"):
        return request._suivi_settings
    obj, _created = CompanySettings.objects.get_or_create(pk=1)
    if request is not None:
        request._suivi_settings = obj
    return obj


def refusal(settings_obj: CompanySettings, level: str = CrmLevel.BASIC) -> str | None:
    """Why the CRM feature of ``level`` is closed, or None when it is open."""
    if not settings_obj.crm_enabled:
        return _(
            "The CRM option is off. An administrator can switch it on in Company settings, tab Customers/suppliers."
        )
    if level == CrmLevel.FULL and settings_obj.crm_level != CrmLevel.FULL:
        return _(
            "This feature needs CRM level M2. An administrator can change the level in "
            "Company settings, tab Customers/suppliers."
        )
    return None


def crm_required(view=None, *, level: str = CrmLevel.BASIC):
    """Decorate a page view of the CRM: 404 with an explanation when the CRM (or M2) is off."""

    def decorator(func):
        @wraps(func)
        def wrapper(request, *args, **kwargs):
            reason = refusal(company_settings(request), level)
            if reason:
                return render(request, "web/feature_off.html", {"reason": reason}, status=404)
            return func(request, *args, **kwargs)

        return wrapper

    return decorator(view) if view is not None else decorator
