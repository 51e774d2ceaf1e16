"""Writes of the accounts app: users, roles, passwords, preferences."""

from django.contrib.auth import update_session_auth_hash
from django.db import transaction
from django.utils.translation import gettext as _

from suivi.core import audit
from suivi.core.errors import PermissionDenied

from .models import DevicePreference, Role, User


@transaction.atomic
def create_user(*, acting_user, username: str, password: str | None, role: str = Role.USER, **fields) -> User:
    """Create a user with ``role``; administrators also reach the Django admin."""
    if acting_user is not None and not acting_user.is_administrator:
        raise PermissionDenied(_("Only administrators may create users."))
    user = User(username=username, role=role, **fields)
    user.is_staff = role == Role.ADMINISTRATOR
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.full_clean(exclude=["password"])
    user.save()
    audit.record(acting_user, "create", user, {"role": [None, role]})
    return user


@transaction.atomic
def change_password(*, acting_user: User, new_password: str, request=None) -> None:
    """Set a new password. Every other session of the user ends; the current one (if any) stays."""
    acting_user.set_password(new_password)
    acting_user.save(update_fields=["password"])
    audit.record(acting_user, "change_password", acting_user)
    if request is not None:
        update_session_auth_hash(request, acting_user)


@transaction.atomic
def update_preferences(
    *,
    acting_user: User,
    device_id: str,
    device_label: str,
    language: str,
    sending_method: str,
    send_via_outlook: bool,
) -> DevicePreference:
    """Save the user's own preferences (language, S7 override) and this device's (S3)."""
    changes = {}
    for name, value in (("language", language), ("sending_method", sending_method)):
        if getattr(acting_user, name) != value:
            changes[name] = [getattr(acting_user, name), value]
            setattr(acting_user, name, value)
    acting_user.full_clean(exclude=["password"])
    acting_user.save(update_fields=["language", "sending_method"])
    device, _created = DevicePreference.objects.get_or_create(
        user=acting_user, device_id=device_id, defaults={"label": device_label[:200]}
    )
    if device.send_via_outlook != send_via_outlook:
        changes["send_via_outlook"] = [device.send_via_outlook, send_via_outlook]
    device.send_via_outlook = send_via_outlook
    device.label = device_label[:200] or device.label
    device.save()
    if changes:
        audit.record(acting_user, "update_preferences", acting_user, changes)
    return device


@transaction.atomic
def set_language(*, acting_user: User, language: str) -> None:
    if acting_user.language != language:
        audit.record(acting_user, "update_preferences", acting_user, {"language": [acting_user.language, language]})
        acting_user.language = language
        acting_user.save(update_fields=["language"])
