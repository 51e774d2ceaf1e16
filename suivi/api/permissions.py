"""API gates: the same feature gates as the pages (suivi.core.gates)."""

from rest_framework.exceptions import NotFound
from rest_framework.permissions import BasePermission

from suivi.core.gates import company_settings, refusal
from suivi.core.models import CrmLevel


class CrmEnabled(BasePermission):
    """Endpoints of the CRM answer 404 with the reason when the CRM option (or M2) is off."""

    level = CrmLevel.BASIC

    def has_permission(self, request, view):
        reason = refusal(company_settings(request._request), getattr(view, "crm_level", self.level))
        if reason:
            raise NotFound(reason)
        return True


class IsAdministratorOrReadOnly(BasePermission):
    message = "Only administrators may change the company settings."

    def has_permission(self, request, view):
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return True
        return bool(request.user and request.user.is_administrator)
