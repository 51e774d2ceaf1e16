"""What every page knows: the company settings (for menus behind feature gates), read lazily so
that fragments which do not use them cost no query."""

from django.utils.functional import SimpleLazyObject

from suivi.core.company import company_settings


def suivi(request):
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    return {"company": SimpleLazyObject(lambda: company_settings(request))}
