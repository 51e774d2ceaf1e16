"""The company settings reader: one row, read once per request."""

from .models import CompanySettings


def company_settings(request=None) -> CompanySettings:
    """The company settings, read once per request (``request`` None: read now)."""
    if request is not None and hasattr(request, "_suivi_settings"):
        return request._suivi_settings
    obj, _created = CompanySettings.objects.get_or_create(pk=1)
    if request is not None:
        request._suivi_settings = obj
    return obj
