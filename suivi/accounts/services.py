"""Writes of the accounts app: users, roles, passwords, preferences."""

from importlib import import_module

from django.conf import settings
from django.contrib.auth import SESSION_KEY, update_session_auth_hash
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework.authtoken.models import Token

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


def _end_sessions(user: User, keep_session_key: str | None = None) -> int:
    """Delete every stored session of ``user`` but ``keep_session_key``; returns how many ended.

    Sessions are rows of the database (Django's default engine): each is decoded to find its user,
    which is fine at the scale of one company (one row per signed-in browser)."""
    store = import_module(settings.SESSION_ENGINE).SessionStore
    if not hasattr(store, "get_model_class"):
        return 0  # a session engine without rows: the password hash check still ends them
    ended = []
    model = store.get_model_class()
    for row in model.objects.filter(expire_date__gt=timezone.now()).iterator():
        if row.session_key == keep_session_key:
            continue
        if str(row.get_decoded().get(SESSION_KEY)) == str(user.pk):
            ended.append(row.session_key)
    if ended:
        model.objects.filter(session_key__in=ended).delete()
    return len(ended)


def _revoke_access(user: User, keep_session_key: str | None = None) -> None:
    """The user's API tokens stop working and their other sessions end."""
    Token.objects.filter(user=user).delete()
    _end_sessions(user, keep_session_key)


@transaction.atomic
def change_password(*, acting_user: User, user: User, new_password: str | None, request=None) -> None:
    """Set ``user``'s password (``None``: no usable password), by themselves or by an administrator.

    Every path that changes a password comes here (the password page, the Django admin): the user's
    API tokens are revoked and every other session of theirs ends; the acting session (if it is the
    user's own) stays signed in."""
    if acting_user.pk != user.pk and not acting_user.is_administrator:
        raise PermissionDenied(_("Only administrators may change another user's password."))
    if new_password is None:
        user.set_unusable_password()
    else:
        user.set_password(new_password)
    user.save(update_fields=["password"])
    audit.record(acting_user, "change_password", user)
    keep = None
    if request is not None and request.user.pk == user.pk:
        update_session_auth_hash(request, user)
        keep = request.session.session_key
    _revoke_access(user, keep_session_key=keep)


@transaction.atomic
def set_active(*, acting_user: User, user: User, active: bool) -> None:
    """Activate or deactivate ``user`` (administrators). Deactivating revokes the user's API tokens and
    ends all their sessions, so that reactivating them later does not bring old ones back."""
    if not acting_user.is_administrator:
        raise PermissionDenied(_("Only administrators may activate or deactivate users."))
    if user.is_active != active:
        audit.record(acting_user, "update", user, {"is_active": [user.is_active, active]})
        user.is_active = active
        user.save(update_fields=["is_active"])
    if not active:
        _revoke_access(user)


@transaction.atomic
def update_preferences(
    *,
    acting_user: User,
    device_id: str,
    device_label: str,
    language: str,
    sending_method: str,
    send_via_outlook: bool,
) -> DevicePreference | None:
    """Save the user's own preferences (language, S7 override) and this device's (S3)."""
    changes = {}
    for name, value in (("language", language), ("sending_method", sending_method)):
        if getattr(acting_user, name) != value:
            changes[name] = [getattr(acting_user, name), value]
            setattr(acting_user, name, value)
    acting_user.full_clean(exclude=["password"])
    acting_user.save(update_fields=["language", "sending_method"])
    device = DevicePreference.objects.filter(user=acting_user, device_id=device_id).first()
    if device is None and send_via_outlook:
        device = DevicePreference(user=acting_user, device_id=device_id, label=device_label[:200])
    # A device is remembered once it differs from the default: saving unchanged writes nothing.
    if device is not None and (device.pk is None or device.send_via_outlook != send_via_outlook):
        changes["send_via_outlook"] = [device.send_via_outlook if device.pk else False, send_via_outlook]
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
