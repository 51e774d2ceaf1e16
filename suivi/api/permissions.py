"""API gates: the same feature gates as the pages (suivi.core.gates)."""

from django.utils.translation import gettext_lazy
from rest_framework.exceptions import NotFound
from rest_framework.permissions import SAFE_METHODS, BasePermission

from suivi.core.company import company_settings
from suivi.core.gates import refusal
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
    """Every signed-in user reads; administrators change. Anonymous callers get 401 (never a 500)."""

    message = gettext_lazy("Only administrators may change the company settings.")

    def has_permission(self, request, view):
        user = request.user
        if not (user and user.is_authenticated):
            return False  # DRF answers 401 with its JSON "not authenticated" detail
        if request.method in SAFE_METHODS:
            return True
        return bool(user.is_administrator)
