"""Users and roles in Django's admin (/admin/), reachable by administrators."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from .models import User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "first_name", "last_name", "email", "role", "is_active")
    list_filter = ("role", "is_active", "groups")
    fieldsets = (*BaseUserAdmin.fieldsets, ("Suivi", {"fields": ("role", "language", "sending_method")}))
    add_fieldsets = (*BaseUserAdmin.add_fieldsets, ("Suivi", {"fields": ("role",)}))

    def save_model(self, request, obj, form, change):
        # Administrators reach this admin; the role decides it, as in accounts.services.
        obj.is_staff = obj.role == "admin" or obj.is_superuser
        super().save_model(request, obj, form, change)
