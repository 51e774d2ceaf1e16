"""What every page knows: the company settings (for menus behind feature gates)."""

from suivi.core.gates import company_settings


def suivi(request):
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    return {"company": company_settings(request)}
