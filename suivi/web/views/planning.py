"""Planning pages of the M2 agenda (issue 12, points 4 and 5) and the public ICS feeds.

- ``planning/``: choose users, a duration and a first day; the next slots when every one of them
  is free (``agenda.planning.free_slots``). *Book* opens a small form that books the slot.
- ``planning/load/``: the team's load, users × days or weeks, hours booked of hours available.
- ``planning/hours/``, ``planning/absences/``, ``planning/holidays/``: the settings behind it.
- ``feeds/``: one's secret ICS addresses; ``ics/<token>.ics`` the feed itself (public).

Booking decision: **one meeting = one action.** A booked slot creates ONE action followed by the
viewer if they are among the chosen users, else by the first chosen user, with the other chosen
users as its ``participants``. Everyone sees it in their own column of the agenda (the agenda
reads followers and participants alike) and it blocks everyone's free slots; there are no
copies to keep in sync when the meeting moves or is cancelled. The slot is checked again when it
is booked: if someone took it meanwhile the booking is refused with a message and the search is
shown again.
"""

from datetime import UTC, datetime, time, timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpResponse, HttpResponseNotModified
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.http import http_date, parse_http_date_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST, require_safe

from suivi.accounts.models import User
from suivi.activities.recurrence import company_zone
from suivi.agenda import feeds as agenda_feeds
from suivi.agenda import planning, services
from suivi.agenda.models import Absence, CalendarFeed, Holiday, Weekday
from suivi.agenda.planning import DEFAULT_WEEK
from suivi.agenda.queries import visible_views
from suivi.core.company import company_settings
from suivi.core.errors import InvalidInput, PermissionDenied, SuiviError
from suivi.core.gates import refusal
from suivi.core.models import CrmLevel
from suivi.lib.ids import parse_id
from suivi.parties.queries import access_party

from ..outcomes import after_command, show_on_form, status_of
from ..planning_forms import AbsenceForm, BookForm, HolidayForm, LoadForm, SearchForm

# Spans a day of the working-hours form offers.
SPANS_PER_DAY = 3


def _refused(request, error: SuiviError, back_url: str):
    return render(
        request,
        "web/refused.html",
        {"message": error.message, "back_url": back_url, "forbidden": status_of(error) == 403},
        status=status_of(error),
    )


def _day_start(day) -> datetime:
    return datetime.combine(day, time(0), tzinfo=company_zone()).astimezone(UTC)


# --- free slots and booking ------------------------------------------------------------------------


def _search_window(form: SearchForm) -> tuple[datetime, datetime]:
    start = max(_day_start(form.cleaned_data["start"]), timezone.now())
    end = _day_start(form.cleaned_data["start"] + timedelta(days=form.cleaned_data["days"]))
    return start, end


@require_GET
def planning_page(request):
    """The free-slot search."""
    data = request.GET or None  # submitted: even with no user chosen, say so
    form = SearchForm(
        data, initial={"users": [request.user.pk], "start": timezone.localdate(), "duration": 60, "days": 14}
    )
    slots = None
    status = 200
    if data is not None:
        if form.is_valid():
            start, end = _search_window(form)
            users = [u.pk for u in form.cleaned_data["users"]]
            found = planning.free_slots(users, timedelta(minutes=form.cleaned_data["duration"]), start, end, limit=20)
            book = reverse("planning_book")
            slots = [
                (
                    slot,
                    book
                    + "?"
                    + urlencode(
                        {
                            "slot": slot.start.isoformat(),
                            "duration": form.cleaned_data["duration"],
                            "users": users,
                            "back": request.GET.urlencode(),
                        },
                        doseq=True,
                    ),
                )
                for slot in found
            ]
        else:
            status = 400
    return render(
        request,
        "web/planning/search.html",
        {"form": form, "slots": slots, "zone": settings.TIME_ZONE, "tab": "search"},
        status=status,
    )


def _booking(request):
    """The slot a booking is about: ``slot`` (its ISO start), ``duration`` (minutes), ``users``,
    and why it cannot be booked (a year the agenda does not accept), else an empty string."""
    source = request.POST if request.method == "POST" else request.GET
    try:
        start = datetime.fromisoformat(source.get("slot", ""))
        duration = int(source.get("duration", ""))
    except ValueError as e:
        raise Http404 from e
    if start.tzinfo is None or not 0 < duration <= 24 * 60:
        raise Http404
    ids = [pk for raw in source.getlist("users") if (pk := parse_id(raw))]
    users = list(User.objects.filter(pk__in=ids, is_active=True))
    if not users or len(users) > planning.MAX_USERS_PER_SEARCH:
        raise Http404
    users.sort(key=lambda u: ids.index(u.pk))
    if not services.within_years(start):
        # Kept as sent: converting the years 1 or 9999 to another zone overflows.
        return start, timedelta(minutes=duration), users, services.years_message()
    return start.astimezone(UTC), timedelta(minutes=duration), users, ""


def book_page(request):
    """GET: the small form of a slot; POST: book it (one action, the others as participants).
    A slot outside the years the agenda accepts is shown with the reason (400), never booked;
    any refusal shows the form again with what was typed."""
    start, duration, users, slot_error = _booking(request)
    form = BookForm(request.POST or None)
    party = None
    status = 400 if slot_error else 200
    if request.method == "POST":
        if pk := parse_id(request.POST.get("party")):
            try:
                party = access_party(request.user, pk)
            except Http404:
                form.add_error(None, _("This party does not exist or you may not see it: search it again."))
        if slot_error:
            form.is_valid()  # the typed values are shown again with their own errors, if any
        elif form.is_valid():
            try:
                action = services.book_slot(
                    acting_user=request.user,
                    users=users,
                    start=start,
                    end=start + duration,
                    values={
                        "subject": form.cleaned_data["subject"],
                        "action_type": form.cleaned_data["action_type"],
                        "party": party,
                    },
                )
            except services.SlotTaken as e:
                form.add_error(None, e.message)
                status = 409
            except SuiviError as e:
                status = show_on_form(form, e)
            else:
                messages.success(
                    request,
                    _("Booked “%(subject)s” on %(when)s.")
                    % {
                        "subject": action.subject,
                        "when": timezone.localtime(action.start, company_zone()).strftime("%d/%m/%Y %H:%M"),
                    },
                )
                return redirect(reverse("planning_booked", args=[action.pk]))
        else:
            status = 400
    return render(
        request,
        "web/planning/book.html",
        {
            "form": form,
            "slot_error": slot_error,
            "slot_value": start.isoformat(),
            "start": start,
            "end": start + duration if not slot_error else start,
            "duration": duration // timedelta(minutes=1),
            "users": users,
            "party": party,
            "back": reverse("planning") + "?" + (request.POST or request.GET).get("back", ""),
            "back_query": (request.POST or request.GET).get("back", ""),
            "zone": settings.TIME_ZONE,
            "tab": "search",
        },
        status=status,
    )


@require_GET
def booked_page(request, pk: int):
    """What was booked: the action with its follower and participants."""
    from suivi.activities.queries import access_action

    action = access_action(request.user, pk)
    return render(
        request,
        "web/planning/booked.html",
        {
            "action": action,
            "participants": list(action.participants.all()),
            "zone": settings.TIME_ZONE,
            "tab": "search",
        },
    )


# --- team load ---------------------------------------------------------------------------------------


@require_GET
def load_page(request):
    data = request.GET or None  # submitted: even with no user chosen, say so
    today = timezone.localdate()
    form = LoadForm(
        data,
        initial={"users": [request.user.pk], "start": today - timedelta(days=today.weekday()), "by": "day", "count": 7},
    )
    table = None
    status = 200
    if data is not None and form.is_valid():
        users = list(form.cleaned_data["users"])[: planning.MAX_USERS_PER_SEARCH]
        first = form.cleaned_data["start"]
        by = form.cleaned_data["by"]
        step = timedelta(weeks=1) if by == "week" else timedelta(days=1)
        last = first + step * form.cleaned_data["count"] - timedelta(days=1)
        rows = planning.team_load([u.pk for u in users], first, last, by=by)
        names = {u.pk: u for u in users}
        table = {
            "periods": [first_day for first_day, _after in planning.periods(first, last, by)],
            "rows": [(names[row.user_id], row.cells) for row in rows],
            "by": by,
        }
    elif data is not None:
        status = 400
    return render(request, "web/planning/load.html", {"form": form, "table": table, "tab": "load"}, status=status)


# --- working hours -----------------------------------------------------------------------------------


def _hours_user(request) -> User:
    pk = parse_id(request.GET.get("user")) or request.user.pk
    user = User.objects.filter(pk=pk).first()
    if user is None:
        raise Http404
    return user


def hours_page(request):
    """A user's working week: own, or anyone's for a manager (others read it)."""
    user = _hours_user(request)
    may_change = services.may_plan_for(request.user, user)
    rows = list(user.working_hours.all())
    week: dict[int, list[tuple[time, time]]] = {}
    for row in rows:
        week.setdefault(row.weekday, []).append((row.start, row.end))
    errors: dict[str, str] = {}
    status = 200
    typed: dict[str, str] = {}
    if request.method == "POST":
        if not may_change:
            return _refused(
                request,
                PermissionDenied(_("Only %(user)s or a manager may change these working hours.") % {"user": user}),
                reverse("planning_hours"),
            )
        spans = []
        for day in range(7):
            for i in range(SPANS_PER_DAY):
                raw_start = request.POST.get(f"d{day}_{i}_start", "").strip()
                raw_end = request.POST.get(f"d{day}_{i}_end", "").strip()
                typed[f"d{day}_{i}_start"], typed[f"d{day}_{i}_end"] = raw_start, raw_end
                if not raw_start and not raw_end:
                    continue
                try:
                    spans.append((day, time.fromisoformat(raw_start), time.fromisoformat(raw_end)))
                except ValueError:
                    errors[f"day-{day}"] = _("Give both times as HH:MM.")
        if not errors:
            try:
                services.save_working_hours(acting_user=request.user, user=user, spans=spans)
            except InvalidInput as e:
                errors = e.errors
            else:
                messages.success(request, _("Working hours saved."))
                return redirect(reverse("planning_hours") + f"?user={user.pk}")
        status = 400
    shown = week or (DEFAULT_WEEK if not rows else {})
    days = []
    for day in range(7):
        spans = shown.get(day, [])
        cells = []
        for i in range(SPANS_PER_DAY):
            start_name, end_name = f"d{day}_{i}_start", f"d{day}_{i}_end"
            if typed:
                values = (typed.get(start_name, ""), typed.get(end_name, ""))
            elif i < len(spans):
                values = (spans[i][0].strftime("%H:%M"), spans[i][1].strftime("%H:%M"))
            else:
                values = ("", "")
            cells.append({"start_name": start_name, "end_name": end_name, "start": values[0], "end": values[1]})
        days.append({"label": Weekday(day).label, "cells": cells, "error": errors.get(f"day-{day}", "")})
    return render(
        request,
        "web/planning/hours.html",
        {
            "subject": user,
            "days": days,
            "default": not rows,
            "may_change": may_change,
            "others": User.objects.filter(is_active=True).order_by("first_name", "username")
            if request.user.is_manager
            else [],
            "tab": "hours",
        },
        status=status,
    )


# --- absences ----------------------------------------------------------------------------------------


def _aware(value: datetime) -> datetime:
    return timezone.make_aware(value, company_zone()) if timezone.is_naive(value) else value


def absences_page(request):
    """Own absences (a manager: everyone's); add one."""
    form = AbsenceForm(request.POST or None, viewer=request.user, initial={"user": request.user.pk})
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.save_absence(
                    acting_user=request.user,
                    absence=None,
                    user=data["user"],
                    values={"start": _aware(data["start"]), "end": _aware(data["end"]), "reason": data["reason"]},
                )
            except SuiviError as e:
                status = show_on_form(form, e)
            else:
                messages.success(request, _("Absence recorded."))
                return redirect("planning_absences")
        else:
            status = 400
    absences = Absence.objects.select_related("user").filter(end__gte=timezone.now() - timedelta(days=31))
    if not request.user.is_manager:
        absences = absences.filter(user=request.user)
    return render(
        request,
        "web/planning/absences.html",
        {"form": form, "absences": absences.order_by("start")[:200], "tab": "absences"},
        status=status,
    )


@require_POST
def absence_delete(request, pk: int):
    absence = Absence.objects.select_related("user").filter(pk=pk).first()
    if absence is None or not services.may_plan_for(request.user, absence.user):
        raise Http404  # others' absences are not listed to them: nothing to reveal
    services.delete_absence(acting_user=request.user, absence=absence)
    messages.success(request, _("Absence deleted."))
    return redirect("planning_absences")


# --- holidays ----------------------------------------------------------------------------------------


def holidays_page(request):
    """The company holidays: everyone reads them, administrators add and delete."""
    form = HolidayForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if not request.user.is_administrator:
            return _refused(
                request,
                PermissionDenied(_("Only an administrator may change the company holidays.")),
                reverse("planning_holidays"),
            )
        if form.is_valid():
            try:
                services.save_holiday(acting_user=request.user, holiday=None, values=form.cleaned_data)
            except SuiviError as e:
                status = show_on_form(form, e)
            else:
                messages.success(request, _("Holiday added."))
                return redirect("planning_holidays")
        else:
            status = 400
    holidays = Holiday.objects.filter(day__gte=timezone.localdate() - timedelta(days=366))
    return render(
        request,
        "web/planning/holidays.html",
        {"form": form, "holidays": holidays, "tab": "holidays"},
        status=status,
    )


@require_POST
def holiday_delete(request, pk: int):
    holiday = Holiday.objects.filter(pk=pk).first()
    if holiday is None:
        raise Http404
    error = None
    try:
        services.delete_holiday(acting_user=request.user, holiday=holiday)
    except SuiviError as e:
        error = e
    else:
        messages.success(request, _("Holiday deleted."))
    return after_command(request, error, reverse("planning_holidays"))


# --- ICS feeds ---------------------------------------------------------------------------------------


def feeds_page(request):
    """One's feeds: create one (own agenda or a saved view one may open), see its address once,
    revoke."""
    views = list(visible_views(request.user))
    new_url = ""
    status = 200
    if request.method == "POST":
        view = None
        if raw := request.POST.get("view"):
            view = next((v for v in views if str(v.pk) == raw), None)
            if view is None:
                raise Http404
        try:
            _feed, token = services.create_feed(acting_user=request.user, view=view)
        except SuiviError as e:
            return _refused(request, e, reverse("calendar_feeds"))
        new_url = request.build_absolute_uri(reverse("calendar_feed_ics", args=[token]))
        status = 201
    feeds = CalendarFeed.objects.filter(owner=request.user).select_related("view")
    return render(
        request,
        "web/planning/feeds.html",
        {"feeds": feeds, "views": views, "new_url": new_url, "tab": "feeds"},
        status=status,
    )


@require_POST
def feed_revoke(request, pk: int):
    feed = CalendarFeed.objects.filter(pk=pk, owner=request.user).first()
    if feed is None:
        raise Http404  # someone else's feed: not even its existence is told
    services.revoke_feed(acting_user=request.user, feed=feed)
    messages.success(request, _("The feed is revoked: its address no longer answers."))
    return redirect("calendar_feeds")


def _not_found() -> HttpResponse:
    """The same plain answer for an unknown, revoked or closed feed: nothing to learn from it."""
    return HttpResponse(b"", status=404, content_type="text/plain")


@require_safe
def feed(request, token: str):
    """The ICS feed of a secret address: no login (the address is the proof)."""
    if refusal(company_settings(), CrmLevel.FULL) is not None:
        return _not_found()
    found = agenda_feeds.find_feed(token)
    if found is None:
        return _not_found()
    built = agenda_feeds.build_feed(found)
    if built is None:
        return _not_found()
    last_modified = services.note_feed_content(found, built.etag)
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match is not None:
        fresh = built.etag in [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")] or (
            if_none_match.strip() == "*"
        )
    else:
        since = parse_http_date_safe(request.headers.get("If-Modified-Since", ""))
        fresh = since is not None and int(last_modified.timestamp()) <= since
    response = (
        HttpResponseNotModified() if fresh else HttpResponse(built.body, content_type="text/calendar; charset=utf-8")
    )
    response["ETag"] = built.etag
    response["Last-Modified"] = http_date(last_modified.timestamp())
    response["Cache-Control"] = "private, max-age=300"
    if not fresh:
        response["Content-Disposition"] = 'inline; filename="suivi.ics"'
    return response


urlpatterns = [
    path("planning/", planning_page, name="planning"),
    path("planning/book/", book_page, name="planning_book"),
    path("planning/booked/<int:pk>/", booked_page, name="planning_booked"),
    path("planning/load/", load_page, name="planning_load"),
    path("planning/hours/", hours_page, name="planning_hours"),
    path("planning/absences/", absences_page, name="planning_absences"),
    path("planning/absences/<int:pk>/delete/", absence_delete, name="planning_absence_delete"),
    path("planning/holidays/", holidays_page, name="planning_holidays"),
    path("planning/holidays/<int:pk>/delete/", holiday_delete, name="planning_holiday_delete"),
    path("feeds/", feeds_page, name="calendar_feeds"),
    path("feeds/<int:pk>/revoke/", feed_revoke, name="calendar_feed_revoke"),
]
public_urlpatterns = [
    path("ics/<str:token>.ics", feed, name="calendar_feed_ics"),
]
