"""Writes of the accounts app: users, roles, passwords, preferences."""

from collections.abc import Iterable
from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib.auth import SESSION_KEY, update_session_auth_hash
from django.contrib.auth.models import Group
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _
from rest_framework.authtoken.models import Token

from suivi.core import audit
from suivi.core.errors import LATEST, InvalidInput, PermissionDenied, lock_for_update

from .models import DevicePreference, Role, User


@transaction.atomic
def create_user(
    *,
    acting_user,
    username: str,
    password: str | None,
    role: str = Role.USER,
    groups: Iterable[Group] = (),
    **fields,
) -> User:
    """Create a user with ``role`` and ``groups``; administrators also reach the Django admin.

    ``acting_user`` None is the machine itself (first set-up, demo data, tests)."""
    if acting_user is not None and not acting_user.is_administrator:
        raise PermissionDenied(_("Only administrators may create users."))
    if role not in Role.values:
        raise InvalidInput({"role": _("Choose a role among administrator, manager and user.")})
    user = User(username=username, role=role, **fields)
    user.is_staff = role == Role.ADMINISTRATOR
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.full_clean(exclude=["password"])
    user.save()
    groups = list(groups)
    if groups:
        user.groups.set(groups)
    changes: dict[str, Any] = {"role": [None, role]}
    if groups:
        changes["groups"] = [[], sorted(g.name for g in groups)]
    audit.record(acting_user, "create", user, changes)
    return user


def _require_administrator(acting_user, message: str) -> None:
    if acting_user is None or not acting_user.is_administrator:
        raise PermissionDenied(message)


def _keeps_an_administrator(user: User) -> bool:
    """Whether another active administrator than ``user`` remains. The administrators' rows are
    locked, so that two administrators demoting each other at once cannot both succeed."""
    others = (
        User.objects.select_for_update()
        .filter(Q(role=Role.ADMINISTRATOR) | Q(is_superuser=True), is_active=True)
        .exclude(pk=user.pk)
    )
    return len(list(others.values_list("pk", flat=True))) > 0


@transaction.atomic
def update_user(
    *,
    acting_user: User,
    user_id: int,
    expected_version: int | str | None,
    role: str,
    groups: Iterable[Group],
    first_name: str | None = None,
    last_name: str | None = None,
    email: str | None = None,
) -> User:
    """Change a user's role, groups and name (administrators), from the version the form showed.

    The last active administrator keeps their role: Suivi would otherwise have nobody to manage it."""
    _require_administrator(acting_user, _("Only administrators may change users."))
    user = lock_for_update(
        User,
        user_id,
        expected_version,
        _("Someone changed this user since you opened the page: nothing was saved. Reload and make your change again."),
    )
    if role not in Role.values:
        raise InvalidInput({"role": _("Choose a role among administrator, manager and user.")})
    if user.is_administrator and role != Role.ADMINISTRATOR and not user.is_superuser:
        if not _keeps_an_administrator(user):
            raise InvalidInput(
                {
                    "role": _(
                        "%(user)s is the last active administrator: make another user administrator "
                        "first, or Suivi would have nobody to manage it."
                    )
                    % {"user": user}
                }
            )
    values: dict[str, Any] = {"role": role}
    for name, value in (("first_name", first_name), ("last_name", last_name), ("email", email)):
        if value is not None:
            values[name] = value
    changes = audit.diff(user, values)
    for name, value in values.items():
        setattr(user, name, value)
    user.is_staff = role == Role.ADMINISTRATOR or user.is_superuser
    user.full_clean(exclude=["password"])
    groups = list(groups)
    before = sorted(user.groups.values_list("name", flat=True))
    after = sorted(g.name for g in groups)
    if before != after:
        changes["groups"] = [before, after]
        user.groups.set(groups)
    user.version += 1
    user.save()
    if changes:
        audit.record(acting_user, "update", user, changes)
    return user


def _password_link(user: User, base_url: str) -> str:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    path = reverse("set_password", kwargs={"uidb64": uid, "token": token})
    return base_url.rstrip("/") + path


def _mail_password_link(user: User, link: str, *, invitation: bool) -> None:
    """Send ``link`` to ``user``, in the user's language (after the transaction commits)."""
    hours = max(1, round(settings.PASSWORD_RESET_TIMEOUT / 3600))
    with translation.override(user.language):
        if invitation:
            subject = _("You are invited to Suivi")
            intro = _("An administrator created a Suivi account for you, with the username %(username)s.")
        else:
            subject = _("Set your Suivi password")
            intro = _("An administrator asked Suivi to let you set a new password for the username %(username)s.")
        body = "\n\n".join(
            [
                intro % {"username": user.username},
                _("Choose your password here (the link works once, for %(hours)s hours):") % {"hours": hours},
                link,
            ]
        )
    send_mail(subject, body, None, [user.email])


@transaction.atomic
def send_password_link(*, acting_user: User, user: User, base_url: str, invitation: bool = False) -> None:
    """E-mail ``user`` a one-time link to set their password (administrators). The link expires
    after PASSWORD_RESET_TIMEOUT and stops working once used (the token hashes the password)."""
    _require_administrator(acting_user, _("Only administrators may send password links."))
    if not user.email:
        raise InvalidInput({"email": _("This user has no e-mail address to send the link to.")})
    if not user.is_active:
        raise InvalidInput({"is_active": _("This user is deactivated: reactivate them first.")})
    link = _password_link(user, base_url)
    audit.record(acting_user, "invite" if invitation else "send_password_link", user, {"email": [None, user.email]})
    # robust: a mail server that is down is logged; the user exists and the link can be sent again.
    transaction.on_commit(lambda: _mail_password_link(user, link, invitation=invitation), robust=True)


@transaction.atomic
def invite_user(
    *,
    acting_user: User,
    username: str,
    email: str,
    base_url: str,
    role: str = Role.USER,
    groups: Iterable[Group] = (),
    **fields,
) -> User:
    """Create a user without a password and e-mail them a link to choose one (administrators)."""
    _require_administrator(acting_user, _("Only administrators may create users."))
    if not email:
        raise InvalidInput({"email": _("An invitation needs an e-mail address.")})
    user = create_user(
        acting_user=acting_user, username=username, password=None, role=role, groups=groups, email=email, **fields
    )
    send_password_link(acting_user=acting_user, user=user, base_url=base_url, invitation=True)
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
    # A command: applied to the latest version, but the row is locked while it is checked.
    locked = lock_for_update(User, user.pk, LATEST, "")
    if not active and locked.is_administrator and not _keeps_an_administrator(locked):
        raise InvalidInput(
            {
                "is_active": _(
                    "%(user)s is the last active administrator and cannot be deactivated: make another "
                    "user administrator first."
                )
                % {"user": locked}
            }
        )
    if locked.is_active != active:
        audit.record(acting_user, "update", user, {"is_active": [locked.is_active, active]})
        user.is_active = active
        user.version = locked.version + 1
        user.save(update_fields=["is_active", "version"])
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
