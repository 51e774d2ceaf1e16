"""Feature gates: S1 (CRM on/off), S2 (level M1/M2) and S6 (opportunity management).

Each gate is one function saying why a feature is closed (a message in the user's language), or
None when it is open. Pages apply them through one URL include (``suivi.web.gating``), the API
through one viewset base (``suivi.api.views.CrmViewSet``) and the services that write
opportunity fields call ``opportunities_refusal`` themselves, so no path can forget them.
Data is always kept when a feature is switched off.
"""

from django.utils.translation import gettext as _

from .models import CompanySettings, CrmLevel


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


def opportunities_refusal(settings_obj: CompanySettings) -> str | None:
    """Why opportunity management (S6) is closed, or None when it is on (and the CRM is open)."""
    if reason := refusal(settings_obj):
        return reason
    if not settings_obj.opportunities_enabled:
        return _(
            "Opportunity management is off. An administrator can switch it on in Company "
            "settings, tab Customers/suppliers."
        )
    return None
