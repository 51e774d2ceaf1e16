"""Writes of the agenda's own rows: saved views, working hours, absences, company holidays and
ICS feeds. Every write is atomic, checked and leaves an audit row; actions themselves are written
by ``activities.services``.

Who may change what:

- a saved view: its owner or a manager (a shared view is *read* by everyone);
- working hours and absences: the user themselves or a manager;
- company holidays: administrators;
- a calendar feed: its owner.
"""

import hashlib
import secrets
from datetime import datetime, time
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from suivi.accounts.models import User
from suivi.core import audit
from suivi.core.errors import InvalidInput, PermissionDenied, SuiviError, lock_for_update

from .models import Absence, CalendarFeed, Holiday, SavedView, WorkingHours

# The most users one saved view shows side by side (the agenda reads at most this many).
MAX_VIEW_USERS = 50
# The years the agenda and the planning accept (the agenda's pages refuse others too): a date
# outside them is a typing slip, and the time-zone arithmetic of the years 1 or 9999 overflows.
FIRST_YEAR, LAST_YEAR = 1900, 2999


def within_years(*values) -> bool:
    """Whether every one of ``values`` (dates or date-times; None is left to other checks) falls
    within ``FIRST_YEAR``–``LAST_YEAR``."""
    return all(value is None or FIRST_YEAR <= value.year <= LAST_YEAR for value in values)


def years_message() -> str:
    return _("Choose a date between the years %(first)s and %(last)s.") % {"first": FIRST_YEAR, "last": LAST_YEAR}


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


# --- working hours, absences, holidays -----------------------------------------------------------


def may_plan_for(acting_user: User, user: User) -> bool:
    """Working hours and absences: the user themselves or a manager."""
    return acting_user.is_manager or acting_user.pk == user.pk


def _overlapping(spans: list[tuple[Any, Any]]) -> bool:
    ordered = sorted(spans)
    return any(later[0] < earlier[1] for earlier, later in zip(ordered, ordered[1:], strict=False))


@transaction.atomic
def save_working_hours(*, acting_user: User, user: User, spans: list[tuple[int, time, time]]) -> list[WorkingHours]:
    """Replace ``user``'s working week with ``spans`` (weekday 0 = Monday, start, end). No span
    at all means the company's usual week. Each span must end after it starts; spans of one day
    may not overlap."""
    if not may_plan_for(acting_user, user):
        raise PermissionDenied(_("Only %(user)s or a manager may change these working hours.") % {"user": user})
    errors: dict[str, str] = {}
    by_day: dict[int, list[tuple[time, time]]] = {}
    for weekday, start, end in spans:
        if weekday not in range(7):
            errors[f"day-{weekday}"] = _("Choose a day of the week.")
            continue
        if end <= start:
            errors[f"day-{weekday}"] = _("The end (%(end)s) must be after the start (%(start)s).") % {
                "end": end.strftime("%H:%M"),
                "start": start.strftime("%H:%M"),
            }
        by_day.setdefault(weekday, []).append((start, end))
    for weekday, day_spans in by_day.items():
        if f"day-{weekday}" not in errors and _overlapping(day_spans):
            errors[f"day-{weekday}"] = _("These hours overlap; each time of the day may be given once.")
    if errors:
        raise InvalidInput(errors)
    before = [str(row) for row in WorkingHours.objects.filter(user=user)]
    WorkingHours.objects.filter(user=user).delete()
    rows = WorkingHours.objects.bulk_create(
        WorkingHours(user=user, weekday=weekday, start=start, end=end) for weekday, start, end in sorted(spans)
    )
    after = [str(row) for row in rows]
    if before != after:
        audit.record(acting_user, "update", user, {"working_hours": [before, after]})
    return rows


def _check_span(start: datetime | None, end: datetime | None, errors: dict[str, str]) -> None:
    if start is None:
        errors["start"] = _("Give the start.")
    elif not within_years(start):
        errors["start"] = years_message()
    if end is None:
        errors["end"] = _("Give the end.")
    elif not within_years(end):
        errors["end"] = years_message()
    elif start is not None and within_years(start) and end <= start:
        errors["end"] = _("The end (%(end)s) must be after the start (%(start)s).") % {
            "end": timezone.localtime(end).strftime("%d/%m/%Y %H:%M"),
            "start": timezone.localtime(start).strftime("%d/%m/%Y %H:%M"),
        }


@transaction.atomic
def save_absence(*, acting_user: User, absence: Absence | None, user: User, values: dict[str, Any]) -> Absence:
    """Record (``absence`` None) or change an absence of ``user`` (themselves or a manager):
    ``values`` holds ``start``, ``end`` (aware) and ``reason``. It may not overlap another of
    the same user's absences."""
    if absence is not None:
        absence = Absence.objects.select_for_update().get(pk=absence.pk)
        user = absence.user
    if not may_plan_for(acting_user, user):
        raise PermissionDenied(_("Only %(user)s or a manager may change these absences.") % {"user": user})
    start, end = values.get("start"), values.get("end")
    reason = str(values.get("reason") or "").strip()
    errors: dict[str, str] = {}
    _check_span(start, end, errors)
    if len(reason) > 100:
        errors["reason"] = _("At most %(limit)s characters (you typed %(count)s).") % {
            "limit": 100,
            "count": len(reason),
        }
    if not errors:
        clash = Absence.objects.filter(user=user, start__lt=end, end__gt=start)
        if absence is not None:
            clash = clash.exclude(pk=absence.pk)
        other = clash.first()
        if other is not None:
            errors["start"] = _("This absence overlaps another one (%(start)s – %(end)s).") % {
                "start": timezone.localtime(other.start).strftime("%d/%m/%Y %H:%M"),
                "end": timezone.localtime(other.end).strftime("%d/%m/%Y %H:%M"),
            }
    if errors or start is None or end is None:
        raise InvalidInput(errors)
    if absence is None:
        absence = Absence.objects.create(user=user, start=start, end=end, reason=reason)
        audit.record(acting_user, "create", absence)
    else:
        changes = audit.diff(absence, {"start": start, "end": end, "reason": reason})
        if changes:
            absence.start, absence.end, absence.reason = start, end, reason
            absence.save()
            audit.record(acting_user, "update", absence, changes)
    return absence


@transaction.atomic
def delete_absence(*, acting_user: User, absence: Absence) -> None:
    if not may_plan_for(acting_user, absence.user):
        raise PermissionDenied(_("Only %(user)s or a manager may change these absences.") % {"user": absence.user})
    audit.record(acting_user, "delete", absence)
    absence.delete()


def _administrator(acting_user: User) -> None:
    if not acting_user.is_administrator:
        raise PermissionDenied(_("Only an administrator may change the company holidays."))


@transaction.atomic
def save_holiday(*, acting_user: User, holiday: Holiday | None, values: dict[str, Any]) -> Holiday:
    """Record or change a company holiday (administrators); one per day."""
    _administrator(acting_user)
    day, name = values.get("day"), str(values.get("name") or "").strip()
    errors: dict[str, str] = {}
    if day is None:
        errors["day"] = _("Give the day.")
    elif not within_years(day):
        errors["day"] = years_message()
    elif Holiday.objects.filter(day=day).exclude(pk__in=[holiday.pk] if holiday else []).exists():
        errors["day"] = _("%(day)s is already a holiday.") % {"day": day.strftime("%d/%m/%Y")}
    if not name:
        errors["name"] = _("Give the holiday a name.")
    elif len(name) > 100:
        errors["name"] = _("At most %(limit)s characters (you typed %(count)s).") % {"limit": 100, "count": len(name)}
    if errors or day is None:
        raise InvalidInput(errors)
    if holiday is None:
        holiday = Holiday.objects.create(day=day, name=name)
        audit.record(acting_user, "create", holiday)
    else:
        changes = audit.diff(holiday, {"day": day, "name": name})
        holiday.day, holiday.name = day, name
        holiday.save()
        audit.record(acting_user, "update", holiday, changes)
    return holiday


@transaction.atomic
def delete_holiday(*, acting_user: User, holiday: Holiday) -> None:
    _administrator(acting_user)
    audit.record(acting_user, "delete", holiday)
    holiday.delete()


# --- calendar feeds ------------------------------------------------------------------------------


def feed_digest(token: str) -> str:
    """What is kept of a feed's secret: its SHA-256, so that a copy of the database gives no
    working address."""
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def create_feed(*, acting_user: User, view: SavedView | None = None) -> tuple[CalendarFeed, str]:
    """A new secret feed of ``acting_user``'s own agenda, or of a saved view they may open.
    Returns the feed and its token, which is shown once and never stored."""
    if view is not None and not (view.shared or view.owner_id == acting_user.pk or acting_user.is_manager):
        raise PermissionDenied(_("You may not subscribe to this view."))
    token = secrets.token_urlsafe(32)
    feed = CalendarFeed.objects.create(owner=acting_user, view=view, token_digest=feed_digest(token))
    audit.record(acting_user, "create", feed)
    return feed, token


@transaction.atomic
def revoke_feed(*, acting_user: User, feed: CalendarFeed) -> CalendarFeed:
    """Revoke a feed (its owner): its address answers 404 from now on."""
    feed = CalendarFeed.objects.select_for_update().get(pk=feed.pk)
    if feed.owner_id != acting_user.pk:
        raise PermissionDenied(_("Only the owner of this feed may revoke it."))
    if feed.revoked_at is None:
        feed.revoked_at = timezone.now()
        feed.save(update_fields=["revoked_at"])
        audit.record(acting_user, "update", feed, {"revoked_at": [None, str(feed.revoked_at)]})
    return feed


# --- booking a free slot -------------------------------------------------------------------------


class SlotTaken(SuiviError):
    """The slot is no longer free for everyone (someone booked it meanwhile); nothing was saved."""


@transaction.atomic
def book_slot(*, acting_user: User, users: list[User], start: datetime, end: datetime, values: dict[str, Any]):
    """Book [start, end) for ``users``: ONE action followed by the acting user if they are among
    ``users``, else by the first of them, with the others as participants (see
    ``web.views.planning``). The slot is checked again under lock: if it was taken meanwhile
    the booking is refused with ``SlotTaken``."""
    from suivi.activities import services as action_services

    from . import planning

    users = list(dict.fromkeys(users))
    if not users:
        raise InvalidInput({"users": _("Choose at least one user.")})
    if not within_years(start, end):
        raise InvalidInput({"start": years_message()})
    # Lock the chosen users' rows so that two bookings of the same people are made one after the
    # other: the second one then sees the first one's action.
    User.objects.select_for_update().filter(pk__in=[u.pk for u in users]).exists()
    if not planning.is_free([u.pk for u in users], start, end):
        raise SlotTaken(
            _(
                "This slot is no longer free: someone booked it meanwhile, or it is outside someone's "
                "working hours. Search again."
            )
        )
    follower = acting_user if acting_user in users else users[0]
    action = action_services.create_action(
        acting_user=acting_user, values={**values, "followed_by": follower, "start": start, "end": end}
    )
    others = [u for u in users if u.pk != follower.pk]
    if others:
        action.participants.set(others)
        audit.record(acting_user, "update", action, {"participants": [[], sorted(str(u) for u in others)]})
    return action


def note_feed_content(feed: CalendarFeed, etag: str) -> datetime:
    """When the content ``etag`` of ``feed`` was first served: now if it differs from the last
    one served. This is the feed's Last-Modified. Bookkeeping of a read, not a user's change:
    no audit row; two polls at once both write the same values."""
    if feed.content_etag == etag and feed.content_changed_at is not None:
        return feed.content_changed_at
    now = timezone.now().replace(microsecond=0)
    CalendarFeed.objects.filter(pk=feed.pk).update(content_etag=etag, content_changed_at=now)
    feed.content_etag, feed.content_changed_at = etag, now
    return now
