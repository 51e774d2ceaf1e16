"""Writes of the agenda's own rows: saved views, working hours, absences, company holidays and
ICS feeds. Every write is atomic, checked and leaves an audit row; actions themselves are written
by ``activities.services``.

Who may change what:

- a saved view: its owner or a manager (a shared view is *read* by everyone);
- working hours and absences: the user themselves or a manager;
- company holidays: administrators;
- a calendar feed: its owner.
"""

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from suivi.accounts.models import User
from suivi.core import audit
from suivi.core.errors import InvalidInput, PermissionDenied, lock_for_update

from .models import SavedView

# The most users one saved view shows side by side (the agenda reads at most this many).
MAX_VIEW_USERS = 50


# --- saved views -------------------------------------------------------------------------------


def may_change_view(user: User, view: SavedView) -> bool:
    return user.is_manager or view.owner_id == user.pk


@transaction.atomic
def save_view(
    *,
    acting_user: User,
    view: SavedView | None,
    values: dict[str, Any],
    users,
    expected_version: int | str | None = None,
) -> SavedView:
    """Create (``view`` None) or change a saved view: ``values`` holds ``name`` and ``shared``,
    ``users`` the users it shows. Only its owner or a manager may change a view;
    ``expected_version`` is the version the user edited (409 if it moved since)."""
    users = list(dict.fromkeys(users))
    if view is None:
        view = SavedView(owner=acting_user)
        changes: dict[str, Any] = {}
    else:
        view = lock_for_update(
            SavedView,
            view.pk,
            expected_version,
            _("This view was changed by someone else while you were editing it. Reload to see their changes."),
        )
        if not may_change_view(acting_user, view):
            raise PermissionDenied(_("Only the owner of this view or a manager may change it."))
        changes = audit.diff(view, {k: v for k, v in values.items() if k in ("name", "shared")})
    name = str(values.get("name", view.name) or "").strip()
    errors: dict[str, str] = {}
    if not name:
        errors["name"] = _("Give the view a name.")
    elif len(name) > 100:
        errors["name"] = _("At most %(limit)s characters (you typed %(count)s).") % {"limit": 100, "count": len(name)}
    if not users:
        errors["users"] = _("Choose at least one user.")
    elif len(users) > MAX_VIEW_USERS:
        errors["users"] = _("At most %(limit)s users in one view.") % {"limit": MAX_VIEW_USERS}
    if errors:
        raise InvalidInput(errors)
    view.name = name
    view.shared = bool(values.get("shared", view.shared))
    creating = view.pk is None
    if not creating:
        before = sorted(view.users.values_list("pk", flat=True))
        after = sorted(u.pk for u in users)
        if before != after:
            changes["users"] = [before, after]
        if not changes:
            return view
        view.version += 1
    view.save()
    view.users.set(users)
    audit.record(acting_user, "create" if creating else "update", view, changes)
    return view


@transaction.atomic
def delete_view(*, acting_user: User, view: SavedView) -> None:
    """Delete a saved view (its owner or a manager); the feeds made of it go with it."""
    if not may_change_view(acting_user, view):
        raise PermissionDenied(_("Only the owner of this view or a manager may delete it."))
    audit.record(acting_user, "delete", view)
    view.delete()
