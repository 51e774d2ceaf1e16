"""Users and roles in Django's admin (/admin/), reachable by administrators.

Password resets and (de)activation go through ``accounts.services`` like every other path, so that
they revoke the user's API tokens and end their sessions."""

from contextvars import ContextVar

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm

from . import services
from .models import User

# The administrator behind the current admin request, for the password form (which gets no request).
_acting_admin: ContextVar[User | None] = ContextVar("suivi_acting_admin", default=None)


class ServicePasswordChangeForm(AdminPasswordChangeForm):
    """The admin's "change password" form, saving through ``services.change_password``."""

    def save(self, commit=True):
        acting_user = _acting_admin.get()
        if acting_user is None:  # pragma: no cover - only used inside UserAdmin.user_change_password
            raise RuntimeError("ServicePasswordChangeForm needs the acting administrator")
        usable = self.cleaned_data.get("set_usable_password", True)
        services.change_password(
            acting_user=acting_user,
            user=self.user,
            new_password=self.cleaned_data["password1"] if usable else None,
        )
        return self.user


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "first_name", "last_name", "email", "role", "is_active")
    list_filter = ("role", "is_active", "groups")
    fieldsets = (*BaseUserAdmin.fieldsets, ("Suivi", {"fields": ("role", "language", "sending_method")}))
    add_fieldsets = (*BaseUserAdmin.add_fieldsets, ("Suivi", {"fields": ("role",)}))
    change_password_form = ServicePasswordChangeForm

    def user_change_password(self, request, id, form_url=""):
        token = _acting_admin.set(request.user)
        try:
            return super().user_change_password(request, id, form_url)
        finally:
            _acting_admin.reset(token)

    def save_model(self, request, obj, form, change):
        # Administrators reach this admin; the role decides it, as in accounts.services.
        obj.is_staff = obj.role == "admin" or obj.is_superuser
        activity_changed = change and "is_active" in form.changed_data
        wanted_active = obj.is_active
        if activity_changed:
            obj.is_active = not wanted_active  # the service makes the change (and revokes access)
        super().save_model(request, obj, form, change)
        if activity_changed:
            services.set_active(acting_user=request.user, user=obj, active=wanted_active)
