"""Planning (S2c): when a group of users can meet, and how loaded each one is.

A user's *available* time is their working week (``WorkingHours`` rows; none at all = the
company's usual week, ``DEFAULT_WEEK``), less the company's holidays and the user's absences.
Their *busy* time is every calendar action they follow or take part in, as the shared agenda
reads it (``agenda_entries``): recurring occurrences count, others' private actions count as the
busy blocks they are, cancelled actions do not.

Working hours are wall-clock times in the company's time zone: a day's spans are placed on the
calendar day by day, so 09:00 stays 09:00 on both sides of a daylight-saving change. All the
arithmetic below is on aware UTC intervals.

Bounded work: one search reads the agenda once for the whole window (never once per slot), and
the window is at most ``MAX_WINDOW`` long.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from types import SimpleNamespace

from suivi.accounts.models import User
from suivi.activities.recurrence import company_zone

from .models import Absence, Holiday, WorkingHours
from .queries import agenda_entries

Interval = tuple[datetime, datetime]

# The company's usual week, for users who set no working hours: Monday to Friday, 09:00–12:30
# and 13:30–17:30 (weekday 0 = Monday).
DEFAULT_WEEK: dict[int, list[tuple[time, time]]] = {
    day: [(time(9, 0), time(12, 30)), (time(13, 30), time(17, 30))] for day in range(5)
}
# The longest window one search or load table reads.
MAX_WINDOW = timedelta(days=92)
# The most users one search or load table compares.
MAX_USERS_PER_SEARCH = 20
DEFAULT_STEP = timedelta(minutes=15)
DEFAULT_LIMIT = 10

# Busy blocks carry no detail, so the agenda is read as someone who sees nothing private.
_NOBODY = SimpleNamespace(pk=None, is_manager=False)


# --- interval arithmetic -------------------------------------------------------------------------


def _merge(intervals: Iterable[Interval]) -> list[Interval]:
    merged: list[Interval] = []
    for start, end in sorted(i for i in intervals if i[1] > i[0]):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def _subtract(base: list[Interval], holes: list[Interval]) -> list[Interval]:
    """``base`` less ``holes`` (both merged and sorted)."""
    out: list[Interval] = []
    j = 0
    for start, end in base:
        current = start
        while j < len(holes) and holes[j][1] <= current:
            j += 1
        k = j
        while k < len(holes) and holes[k][0] < end:
            if holes[k][0] > current:
                out.append((current, holes[k][0]))
            current = max(current, holes[k][1])
            if current >= end:
                break
            k += 1
        if current < end:
            out.append((current, end))
    return out


def _intersect(a: list[Interval], b: list[Interval]) -> list[Interval]:
    out: list[Interval] = []
    i = j = 0
    while i < len(a) and j < len(b):
        start, end = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if start < end:
            out.append((start, end))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def _total(intervals: Iterable[Interval]) -> timedelta:
    return sum((end - start for start, end in intervals), timedelta(0))


# --- what a user's week is -----------------------------------------------------------------------


def weeks_of(user_ids: list[int]) -> dict[int, dict[int, list[tuple[time, time]]]]:
    """Each user's working week (weekday → spans); the company's usual week for those who set
    none."""
    weeks: dict[int, dict[int, list[tuple[time, time]]]] = {}
    for row in WorkingHours.objects.filter(user_id__in=user_ids).order_by("weekday", "start"):
        weeks.setdefault(row.user_id, {}).setdefault(row.weekday, []).append((row.start, row.end))
    return {pk: weeks.get(pk, DEFAULT_WEEK) for pk in user_ids}


def _local_days(start: datetime, end: datetime) -> list[date]:
    zone = company_zone()
    first = start.astimezone(zone).date()
    last = end.astimezone(zone).date()
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _at(day: date, moment: time) -> datetime:
    """A wall-clock time of a company day, as an aware UTC instant (DST-correct)."""
    return datetime.combine(day, moment, tzinfo=company_zone()).astimezone(UTC)


def _day_bounds(day: date) -> Interval:
    return _at(day, time(0)), _at(day + timedelta(days=1), time(0))


@dataclass
class _Calendar:
    """What one read of the window knows: each user's available and busy time."""

    available: dict[int, list[Interval]]
    busy: dict[int, list[Interval]]


def _read(user_ids: list[int], start: datetime, end: datetime) -> _Calendar:
    days = _local_days(start, end)
    weeks = weeks_of(user_ids)
    holidays = _merge(
        _day_bounds(day)
        for day in Holiday.objects.filter(day__gte=days[0], day__lte=days[-1]).values_list("day", flat=True)
    )
    absences: dict[int, list[Interval]] = {}
    for user_id, a_start, a_end in Absence.objects.filter(
        user_id__in=user_ids, end__gt=start, start__lt=end
    ).values_list("user_id", "start", "end"):
        absences.setdefault(user_id, []).append((a_start, a_end))
    busy: dict[int, list[Interval]] = {pk: [] for pk in user_ids}
    for entry in agenda_entries(_NOBODY, user_ids, start, end):  # type: ignore[arg-type]
        for user_id in entry.users:
            busy[user_id].append((entry.start, max(entry.end, entry.start)))
    available: dict[int, list[Interval]] = {}
    for pk in user_ids:
        spans = _merge((_at(day, s), _at(day, e)) for day in days for s, e in weeks[pk].get(day.weekday(), ()) if e > s)
        spans = _intersect(spans, [(start, end)])
        available[pk] = _subtract(_subtract(spans, holidays), _merge(absences.get(pk, [])))
    return _Calendar(available, {pk: _merge(b) for pk, b in busy.items()})


# --- free slots ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Slot:
    start: datetime
    end: datetime


def _aligned(moment: datetime, step: timedelta) -> datetime:
    """``moment`` rounded up to the next multiple of ``step`` of the company's wall clock
    (09:00, 09:15…), seconds dropped."""
    local = moment.astimezone(company_zone())
    midnight = datetime.combine(local.date(), time(0), tzinfo=company_zone())
    minutes = (local - midnight) // timedelta(minutes=1) + (1 if local.second or local.microsecond else 0)
    step_minutes = max(1, step // timedelta(minutes=1))
    minutes = -(-minutes // step_minutes) * step_minutes
    return (midnight + timedelta(minutes=minutes)).astimezone(UTC)


def free_slots(
    user_ids: list[int],
    duration: timedelta,
    start: datetime,
    end: datetime,
    *,
    step: timedelta = DEFAULT_STEP,
    limit: int = DEFAULT_LIMIT,
) -> list[Slot]:
    """The first ``limit`` slots of ``duration`` in [start, end) when EVERY one of ``user_ids``
    is within working hours, not absent, not on a company holiday and has no calendar action.

    Slots start on the ``step`` grid of the wall clock; within a free stretch they follow each
    other (09:00–10:00, 10:00–11:00…) rather than overlapping, so that ten slots spread over
    more than one morning."""
    user_ids = list(dict.fromkeys(user_ids))
    if not user_ids or duration <= timedelta(0) or end <= start:
        return []
    end = min(end, start + MAX_WINDOW)
    calendar = _read(user_ids, start, end)
    common: list[Interval] | None = None
    for pk in user_ids:
        free = _subtract(calendar.available[pk], calendar.busy[pk])
        common = free if common is None else _intersect(common, free)
    advance = max(step, -(-duration // step) * step)
    slots: list[Slot] = []
    for stretch_start, stretch_end in common or []:
        moment = _aligned(stretch_start, step)
        while moment + duration <= stretch_end:
            slots.append(Slot(moment, moment + duration))
            if len(slots) >= limit:
                return slots
            moment = _aligned(moment + advance, step)
    return slots


def is_free(user_ids: list[int], start: datetime, end: datetime, *, ignore_action: int | None = None) -> bool:
    """Whether [start, end) is still free for every one of ``user_ids`` (the check made again
    when a slot is booked: someone may have taken it meanwhile)."""
    calendar = _read(list(dict.fromkeys(user_ids)), start, end)
    return all(_total(calendar.available[pk]) == end - start and not calendar.busy[pk] for pk in calendar.available)


# --- team load -----------------------------------------------------------------------------------


@dataclass
class LoadCell:
    first_day: date
    booked: timedelta
    available: timedelta

    @property
    def booked_hours(self) -> float:
        return round(self.booked / timedelta(hours=1), 2)

    @property
    def available_hours(self) -> float:
        return round(self.available / timedelta(hours=1), 2)

    @property
    def percent(self) -> int:
        """How much of the available time is booked (0–100; 0 when nothing is available)."""
        if not self.available:
            return 0
        return min(100, round(100 * self.booked / self.available))


@dataclass
class LoadRow:
    user_id: int
    cells: list[LoadCell] = field(default_factory=list)


def periods(first: date, last: date, by: str) -> list[tuple[date, date]]:
    """The days, or the Monday-based weeks, from ``first`` to ``last`` (both included), each as
    [first day, day after its last)."""
    if by == "week":
        monday = first - timedelta(days=first.weekday())
        return [
            (monday + timedelta(weeks=n), monday + timedelta(weeks=n + 1)) for n in range((last - monday).days // 7 + 1)
        ]
    return [(first + timedelta(days=n), first + timedelta(days=n + 1)) for n in range((last - first).days + 1)]


def team_load(user_ids: list[int], start: date, end: date, by: str = "day") -> list[LoadRow]:
    """Per user and per day (or week) from ``start`` to ``end`` (both company days, ``end``
    included): the hours booked and the hours available. Booked hours are the user's calendar
    actions within their available time (a meeting on a Saturday adds no load to a Monday–Friday
    week); available hours are working hours less holidays and absences."""
    if by not in ("day", "week"):
        raise ValueError(by)
    user_ids = list(dict.fromkeys(user_ids))
    spans = periods(start, end, by)
    if not user_ids or not spans:
        return []
    window_start = _at(spans[0][0], time(0))
    window_end = min(_at(spans[-1][1], time(0)), window_start + MAX_WINDOW)
    calendar = _read(user_ids, window_start, window_end)
    rows = []
    for pk in user_ids:
        booked = _intersect(calendar.available[pk], calendar.busy[pk])
        row = LoadRow(pk)
        for first_day, after in spans:
            bounds = [(_at(first_day, time(0)), _at(after, time(0)))]
            row.cells.append(
                LoadCell(
                    first_day,
                    booked=_total(_intersect(booked, bounds)),
                    available=_total(_intersect(calendar.available[pk], bounds)),
                )
            )
        rows.append(row)
    return rows


# --- days off, as the agenda shows them --------------------------------------------------------


@dataclass(frozen=True)
class DayOff:
    """A company holiday (``user_id`` None, ``day`` set) or an absence of one user (``start``,
    ``end``) overlapping a range of the agenda. ``reason`` is empty unless the viewer may read it:
    the absent user themself or a manager."""

    kind: str  # "holiday" or "absence"
    name: str = ""  # the holiday's, or the absent user's
    day: date | None = None
    user_id: int | None = None
    start: datetime | None = None
    end: datetime | None = None
    reason: str = ""


def days_off(viewer: User, user_ids: list[int], start: datetime, end: datetime) -> list[DayOff]:
    """The company holidays of the days that [start, end) touches (a day more on each side: the
    viewer's zone may not be the company's) and the absences of ``user_ids`` overlapping it: two
    queries, bounded by the range."""
    days = _local_days(start, end)
    found = [
        DayOff("holiday", name=name, day=day)
        for day, name in Holiday.objects.filter(
            day__gte=days[0] - timedelta(days=1), day__lte=days[-1] + timedelta(days=1)
        )
        .order_by("day")
        .values_list("day", "name")
    ]
    for absence in (
        Absence.objects.filter(user_id__in=user_ids, end__gt=start, start__lt=end)
        .select_related("user")
        .only("user_id", "start", "end", "reason", "user__first_name", "user__last_name", "user__username")
        .order_by("start", "pk")
    ):
        readable = viewer.is_manager or viewer.pk == absence.user_id
        found.append(
            DayOff(
                "absence",
                name=str(absence.user),
                user_id=absence.user_id,
                start=absence.start,
                end=absence.end,
                reason=absence.reason if readable else "",
            )
        )
    return found


def users_named(user_ids: list[int]) -> dict[int, User]:
    return {u.pk: u for u in User.objects.filter(pk__in=user_ids)}
