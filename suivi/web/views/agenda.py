"""The shared agenda (issue 12, point 1): day / week / work week / month / list views of the
calendar actions of one user or several side by side, drawn in the browser by FullCalendar 6.1
(docs/adr/0002-agenda-calendar-component.md) from the JSON of ``agenda_events``.

How the display time zone is enforced: each user sees the agenda in their own zone
(``User.time_zone``, else the company's ``settings.TIME_ZONE``), whatever the browser's. The
server converts every start and end to that zone and sends *naive* wall-clock strings
(``2027-03-01T09:00:00``); FullCalendar runs with ``timeZone: 'UTC'``, which shows such strings
as they are and never applies the browser's own offset or daylight-saving rules. What the browser
sends back (the visible range, a drop, a resize, a new slot) is the same naive wall-clock time,
which the server reads in the viewer's display zone (``_parse_when``) before any write. A value
that carries an explicit offset (``Z``, ``+02:00``) is honoured as such.

Every read goes through ``suivi.agenda.queries.agenda_entries``: someone else's private action is
a *busy* block with its times only. Every write goes through ``activities.services``.
"""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from csp.constants import NONCE
from csp.decorators import csp_update
from django.conf import settings
from django.contrib import messages
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from suivi.accounts.models import User
from suivi.activities import occurrences
from suivi.activities import services as action_services
from suivi.activities.queries import access_action
from suivi.agenda import planning
from suivi.agenda import services as agenda_services
from suivi.agenda.queries import (
    MAX_USERS,
    Entry,
    access_view,
    agenda_entries,
    calendar_types,
    listed_views,
    may_change,
)
from suivi.core.errors import InvalidInput, SuiviError
from suivi.lib.ids import parse_id
from suivi.parties.queries import access_party

from ..outcomes import after_command, status_of

# The longest range one read of the events covers: a month view shows six weeks, the list a month.
MAX_RANGE_DAYS = 62
# FullCalendar's views, by the name the page and its links use.
MODES = {
    "day": "timeGridDay",
    "week": "timeGridWeek",
    "workweek": "timeGridWeek",
    "month": "dayGridMonth",
    "list": "listMonth",
}
SCOPES = ("this", "following", "all")
# FullCalendar's locale for each of Suivi's languages (English: the British week and 24-hour clock).
LOCALES = {"fr": "fr", "nl": "nl", "en": "en-gb"}


class BadParameter(ValueError):
    """A query or form value the agenda cannot use; the message says why, in the user's language."""


def display_zone(user: User) -> ZoneInfo:
    """The zone ``user`` sees the agenda in: their own, else the company's."""
    if user.time_zone:
        try:
            return ZoneInfo(user.time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return ZoneInfo(settings.TIME_ZONE)


def _wall_clock(value: datetime, zone: ZoneInfo) -> str:
    """``value`` as a naive ISO string of the wall-clock time in ``zone`` (see the module's note)."""
    return value.astimezone(zone).replace(tzinfo=None).isoformat(timespec="seconds")


def _parse_when(raw: str | None, zone: ZoneInfo, label: str) -> datetime:
    """A date or date-time typed or sent by the browser, read in ``zone`` when it has no offset."""
    text = (raw or "").strip()
    if not text:
        raise BadParameter(_("Give the %(what)s.") % {"what": label})
    try:
        if len(text) == 10:
            value = datetime.combine(date.fromisoformat(text), time.min)
        else:
            value = datetime.fromisoformat(text)
    except ValueError:
        raise BadParameter(
            _("“%(value)s” is not a date and time the agenda can read (%(what)s); expected 2027-03-01T09:00.")
            % {"value": text[:40], "what": label}
        ) from None
    if not 1900 <= value.year <= 2999:
        raise BadParameter(
            _("The %(what)s must be between the years 1900 and 2999 (you sent %(year)s).")
            % {"what": label, "year": value.year}
        )
    if value.tzinfo is None:
        return value.replace(tzinfo=zone)
    return value


def _parse_users(raw_values: list[str], viewer: User) -> list[int]:
    """The ids of the users to show (``users=1,2`` or ``users=1&users=2``); the viewer by default."""
    ids: list[int] = []
    for raw in raw_values:
        for part in raw.split(","):
            part = part.strip()
            if not part:
                continue
            number = parse_id(part)
            if number is None:
                raise BadParameter(_("“%(value)s” is not a user number.") % {"value": part[:40]})
            if number not in ids:
                ids.append(number)
    if len(ids) > MAX_USERS:
        raise BadParameter(
            _("At most %(limit)s users side by side (you asked for %(count)s).")
            % {"limit": MAX_USERS, "count": len(ids)}
        )
    return ids or [viewer.pk]


def _range(request, zone: ZoneInfo) -> tuple[datetime, datetime]:
    start = _parse_when(request.GET.get("start"), zone, _("start of the range"))
    end = _parse_when(request.GET.get("end"), zone, _("end of the range"))
    if end <= start:
        raise BadParameter(_("The end of the range is before its start."))
    if end - start > timedelta(days=MAX_RANGE_DAYS):
        raise BadParameter(_("At most %(days)s days at a time: choose a shorter range.") % {"days": MAX_RANGE_DAYS})
    return start, end


def _event(entry: Entry, zone: ZoneInfo) -> dict:
    """One occurrence as FullCalendar reads it. A busy entry carries its times and users only."""
    if entry.all_day:
        first = entry.start.astimezone(zone).date()
        last = entry.end.astimezone(zone).date() if entry.end else first
        start, end = first.isoformat(), (max(last, first) + timedelta(days=1)).isoformat()
    else:
        start, end = _wall_clock(entry.start, zone), _wall_clock(entry.end, zone)
    common = {"id": entry.key, "start": start, "end": end, "allDay": entry.all_day}
    # An occurrence of a series opens the action page on that occurrence alone (its original
    # start in UTC, as ``?occurrence=`` reads it); an exception or a plain action is its own page.
    url = reverse("action_detail", args=[entry.action_id])
    recurrence_id = None
    if entry.recurring and entry.recurrence_id is not None:
        recurrence_id = entry.recurrence_id.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        url += f"?occurrence={recurrence_id}"
    if entry.busy:
        return {
            **common,
            "title": _("Busy"),
            "editable": False,
            "classNames": ["busy"],
            "extendedProps": {"busy": True, "users": entry.users},
        }
    return {
        **common,
        "title": entry.subject,
        "editable": entry.editable,
        "extendedProps": {
            "busy": False,
            "action": entry.action_id,
            "version": entry.version,
            "users": entry.users,
            "type": entry.type_id,
            "colour": entry.colour,
            "party": entry.party,
            "private": entry.private,
            "status": entry.status,
            "recurring": entry.recurring,
            "recurrenceId": recurrence_id,
            "url": url,
        },
    }


def _bad(message: str, status: int = 400) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


@require_GET
def agenda_events(request):
    """JSON: the occurrences of ``users`` between ``start`` and ``end`` as the viewer may see them."""
    zone = display_zone(request.user)
    try:
        start, end = _range(request, zone)
        user_ids = _parse_users(request.GET.getlist("users"), request.user)
    except BadParameter as e:
        return _bad(str(e))
    if request.GET.get("view"):
        # A saved view's users, read under the same rule as the page that opens it.
        try:
            view = access_view(request.user, request.GET["view"])
        except Http404:
            return _bad(_("This view does not exist or you may not open it."), 404)
        user_ids = [u.pk for u in view.users.all() if u.is_active][:MAX_USERS] or [request.user.pk]
    entries = agenda_entries(request.user, user_ids, start, end)
    events = [_event(e, zone) for e in entries]
    events += _days_off(request.user, user_ids, start, end, zone)
    return JsonResponse({"events": events, "zone": zone.key})


def _days_off(viewer: User, user_ids: list[int], start: datetime, end: datetime, zone: ZoneInfo) -> list[dict]:
    """The company holidays (in every column) and the shown users' absences, as background
    events with a label: "Absent", with the reason for the user themself and managers only, and
    the user's name when several users are shown."""
    found = planning.days_off(viewer, user_ids, start, end)
    events = []
    for off in found:
        if off.kind == "holiday" and off.day is not None:
            events.append(
                {
                    "id": f"holiday-{off.day.isoformat()}",
                    "start": off.day.isoformat(),
                    "end": (off.day + timedelta(days=1)).isoformat(),
                    "allDay": True,
                    "title": off.name,
                    "display": "background",
                    "classNames": ["holiday"],
                    "editable": False,
                    "extendedProps": {"background": "holiday", "users": user_ids},
                }
            )
        elif off.start is not None and off.end is not None and off.user_id is not None:
            name = off.name if len(user_ids) > 1 else ""
            label = " · ".join(part for part in (name, _("Absent"), off.reason) if part)
            events.append(
                {
                    "id": f"absence-{off.user_id}-{off.start:%Y%m%dT%H%M%S}",
                    "start": _wall_clock(max(off.start, start), zone),
                    "end": _wall_clock(min(off.end, end), zone),
                    "allDay": False,
                    "title": label,
                    "display": "background",
                    "classNames": ["absence"],
                    "editable": False,
                    "extendedProps": {"background": "absence", "users": [off.user_id]},
                }
            )
    return events


def _target_user(raw: str | None) -> User | None:
    if not raw:
        return None
    number = parse_id(raw)
    user = User.objects.filter(pk=number, is_active=True).first() if number else None
    if user is None:
        raise BadParameter(_("This user does not exist or is no longer active."))
    return user


def _error_message(error: SuiviError) -> str:
    errors = getattr(error, "errors", None)
    return " ".join(errors.values()) if errors else error.message


@require_POST
def agenda_move(request):
    """Move or resize an occurrence (drag and drop, an edge, or the keyboard). A drop in another
    user's column of the day view gives the action to that user. A plain action is updated with
    the version the browser read (409 if someone changed it since: the browser puts it back); an
    occurrence of a series changes as the user chose: this one, this and the following, or all."""
    zone = display_zone(request.user)
    action = access_action(request.user, request.POST.get("action"))
    if not may_change(request.user, action):
        return _bad(_("Only the action's follower, its creator or a manager may move it."), 403)
    try:
        start = _parse_when(request.POST.get("start"), zone, _("start"))
        end = _parse_when(request.POST.get("end"), zone, _("end")) if request.POST.get("end") else None
        user = _target_user(request.POST.get("user"))
    except BadParameter as e:
        return _bad(str(e))
    values: dict = {"start": start}
    if request.POST.get("all_day") in ("0", "1"):  # dropped into, or out of, the all-day row
        values["all_day"] = request.POST["all_day"] == "1"
    all_day = values.get("all_day", action.all_day)
    if end is not None:
        # The calendar's all-day end is the next midnight; Suivi keeps the last minute of the day.
        values["end"] = end - timedelta(minutes=1) if all_day and end.timetz() == time(tzinfo=end.tzinfo) else end
    elif action.all_day and not all_day:
        values["end"] = start + timedelta(minutes=action.action_type.default_duration or 30)
    elif action.start and action.end:
        values["end"] = start + (action.end - action.start)
    if user is not None and user.pk != action.followed_by_id:
        values["followed_by"] = user
    version = request.POST.get("version")
    try:
        if action.rrule or action.series_id:
            # An occurrence already changed on its own (an exception) moves alone unless told.
            scope = request.POST.get("scope", "") or ("this" if action.series_id else "")
            if scope not in SCOPES:
                return _bad(_("Choose which occurrences change: this one, this and the following, or all."))
            if action.series_id and action.recurrence_id:
                original = action.recurrence_id
            else:
                try:
                    original = _parse_when(request.POST.get("recurrence_id"), ZoneInfo("UTC"), _("occurrence"))
                except BadParameter as e:
                    return _bad(str(e))
            action = occurrences.change_occurrence(
                acting_user=request.user,
                action=action,
                original_start=original,
                scope=scope,
                values=values,
                expected_version=version,
            )
        else:
            action = action_services.update_action(
                acting_user=request.user, action=action, values=values, expected_version=version
            )
    except SuiviError as e:
        return _bad(_error_message(e), status_of(e))
    return JsonResponse({"action": action.pk, "version": action.version, "message": _("Moved.")})


@require_POST
def agenda_create(request):
    """Quick create from an empty slot: subject, a calendar type, an optional party, the slot's
    start and end; followed by the column's user (day view) or the viewer."""
    zone = display_zone(request.user)
    errors: dict[str, str] = {}
    values: dict = {"subject": request.POST.get("subject", "")}
    for name, label in (("start", _("start")), ("end", _("end"))):
        try:
            values[name] = _parse_when(request.POST.get(name), zone, label)
        except BadParameter as e:
            errors[name] = str(e)
    type_id = parse_id(request.POST.get("action_type"))
    values["action_type"] = calendar_types().filter(pk=type_id, active=True).first() if type_id else None
    if values["action_type"] is None:
        errors["action_type"] = _("Choose a type shown on the agenda.")
    values["party"] = None
    if request.POST.get("party"):
        try:
            values["party"] = access_party(request.user, request.POST["party"])
        except Http404:
            errors["party"] = _("This party does not exist or you may not see it: search it again.")
    try:
        values["followed_by"] = _target_user(request.POST.get("user")) or request.user
    except BadParameter as e:
        errors["user"] = str(e)
    if errors:
        return JsonResponse({"errors": errors}, status=400)
    try:
        action = action_services.create_action(acting_user=request.user, values=values)
    except InvalidInput as e:
        return JsonResponse({"errors": e.errors}, status=400)
    except SuiviError as e:
        return JsonResponse({"errors": {"__all__": e.message}}, status=status_of(e))
    return JsonResponse(
        {"action": action.pk, "url": reverse("action_detail", args=[action.pk]), "message": _("Action recorded.")},
        status=201,
    )


def _page_users(request) -> tuple[list[int], object]:
    """The users the page shows: a saved view's, the ticked ones, else the viewer."""
    view = None
    if request.GET.get("view"):
        view = access_view(request.user, request.GET["view"])
        ids = [u.pk for u in view.users.all() if u.is_active][:MAX_USERS]
    else:
        try:
            ids = _parse_users(request.GET.getlist("users"), request.user)
        except BadParameter as e:
            messages.error(request, str(e))
            ids = [request.user.pk]
    return ids or [request.user.pk], view


@csp_update({"style-src": [NONCE], "font-src": ["data:"]})
def agenda_page(request):
    """The agenda. FullCalendar injects its own style sheet: this page's policy allows a style
    element carrying the page's nonce (``<meta name="csp-nonce">``), and no other inline style;
    that style sheet embeds FullCalendar's icon font (arrows, close) as a ``data:`` URL.
    A POST saves the users on screen as a named view."""
    if request.method == "POST":
        return _save_view(request)
    ids, view = _page_users(request)
    return _render_page(request, ids, view)


def _render_page(request, ids: list[int], view, status: int = 200, save_errors=None, save_name: str = ""):
    zone = display_zone(request.user)
    users = list(User.objects.filter(is_active=True).order_by("first_name", "last_name", "username"))
    by_id = {u.pk: u for u in users}
    chosen = [by_id[i] for i in ids if i in by_id] or [request.user]
    mode = request.GET.get("mode", "week")
    mode = mode if mode in MODES else "week"
    day = request.GET.get("date", "")
    try:
        day = date.fromisoformat(day).isoformat() if day else ""
    except ValueError:
        day = ""
    if day and not agenda_services.within_years(date.fromisoformat(day)):
        messages.error(request, agenda_services.years_message())
        day = ""
    locale = LOCALES.get((get_language() or "fr")[:2], "fr")
    return render(
        request,
        "web/agenda/agenda.html",
        {
            "users": users,
            "chosen": chosen,
            "chosen_ids": {u.pk for u in chosen},
            "view": view,
            "views": _listed(request.user, view),
            "may_change_view": view is not None and agenda_services.may_change_view(request.user, view),
            "mode": mode,
            "date": day,
            "zone": zone.key,
            "now": _wall_clock(timezone.now(), zone),
            "locale": locale,
            "locale_file": f"vendor/fullcalendar/locales/{locale}.global.min.js",
            "columns": [{"id": u.pk, "name": str(u)} for u in chosen],
            "types": [
                {"id": t.pk, "name": str(t), "duration": t.default_duration, "colour": t.colour}
                for t in calendar_types().filter(active=True).order_by("position", "pk")
            ],
            "save_errors": save_errors or {},
            "save_name": save_name,
        },
        status=status,
    )


def _listed(user: User, view) -> list:
    """The saved views of the page's list: the viewer's own and the shared ones, and the view on
    screen (a manager may open someone else's by its address)."""
    views = list(listed_views(user))
    if view is not None and view.pk not in {v.pk for v in views}:
        views.insert(0, view)
    return views


def _save_view(request):
    """Save the users on screen as a named view (the owner's, or shared with everyone); a refusal
    shows the page again with the message beside the name, the name and users kept."""
    try:
        ids = _parse_users(request.POST.getlist("users"), request.user)
    except BadParameter as e:
        messages.error(request, str(e))
        return redirect("agenda")
    users = list(User.objects.filter(pk__in=ids, is_active=True))
    name = request.POST.get("name", "")
    try:
        view = agenda_services.save_view(
            acting_user=request.user,
            view=None,
            values={"name": name, "shared": bool(request.POST.get("shared"))},
            users=users,
        )
    except InvalidInput as e:
        return _render_page(request, ids, None, status=400, save_errors=e.errors, save_name=name)
    messages.success(request, _("View “%(name)s” saved.") % {"name": view.name})
    return redirect(f"{reverse('agenda')}?view={view.pk}")


@require_POST
def agenda_view_delete(request, pk):
    """Delete a saved view: its owner or a manager; anyone else who may open it gets a 403."""
    view = access_view(request.user, pk)
    try:
        agenda_services.delete_view(acting_user=request.user, view=view)
    except SuiviError as e:
        return after_command(request, e, f"{reverse('agenda')}?view={view.pk}")
    messages.success(request, _("View “%(name)s” deleted.") % {"name": view.name})
    return redirect("agenda")


urlpatterns = [
    path("agenda/", agenda_page, name="agenda"),
    path("agenda/events/", agenda_events, name="agenda_events"),
    path("agenda/move/", agenda_move, name="agenda_move"),
    path("agenda/create/", agenda_create, name="agenda_create"),
    path("agenda/views/<int:pk>/delete/", agenda_view_delete, name="agenda_view_delete"),
]
