"""Reads of the shared agenda: the occurrences of the calendar actions of some users in a range,
with recurrences expanded, as the viewer may see them.

Every page, API route and ICS feed of the agenda reads through ``agenda_entries``: an action the
viewer may not see (someone else's private action) comes out as *busy*, with its times only —
no subject, party, description or type.

The read is a handful of index ranges, whatever the size of the action table: for the users'
followed actions, the start within the range (``action_follower_when``, going back
``recurrence.LOOK_BACK``), plus their recurring series (``action_series``) and long events
(``action_long``), each a short partial index; the actions they take part in come through the
participants table. The rows are then read once by id.
"""

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Q, QuerySet
from django.http import Http404

from suivi.accounts.models import User
from suivi.activities import recurrence
from suivi.activities.models import Action, ActionStatus, ActionType

from .models import SavedView

# The most users one agenda read shows side by side.
MAX_USERS = 50


@dataclass
class Entry:
    """One occurrence as the agenda shows it. ``busy`` entries carry times and users only."""

    action_id: int
    start: datetime
    end: datetime
    all_day: bool
    users: list[int]
    busy: bool
    recurring: bool
    recurrence_id: datetime | None
    editable: bool
    subject: str = ""
    type_id: int | None = None
    colour: str = ""
    icon: str = ""
    status: str = ""
    party_id: int | None = None
    party: str = ""
    private: bool = False
    version: int = 0
    extra: dict = field(default_factory=dict)

    @property
    def key(self) -> str:
        """Stable identity of the occurrence: the action, and the original start in a series."""
        if self.recurrence_id is None or not self.recurring:
            return str(self.action_id)
        return f"{self.action_id}@{self.recurrence_id:%Y%m%dT%H%M%SZ}"


def calendar_types() -> QuerySet[ActionType]:
    return ActionType.objects.filter(is_calendar_item=True)


def may_see(viewer: User, action: Action) -> bool:
    """The rule of ``activities.queries.visible_actions`` for one loaded action."""
    return not action.private or viewer.is_manager or viewer.pk in (action.followed_by_id, action.created_by_id)


def may_change(viewer: User, action: Action) -> bool:
    """Who may move an action on the agenda: its follower, its creator, a manager."""
    return viewer.is_manager or viewer.pk in (action.followed_by_id, action.created_by_id)


def _in_range(qs: QuerySet[Action], start: datetime, end: datetime) -> list[QuerySet]:
    """(id, type, follower) of the actions of ``qs`` that may overlap [start, end), as three index
    ranges: the starts within the range (going back ``LOOK_BACK``), the recurring series (a
    partial index), the long events (another)."""
    columns = ("pk", "action_type_id", "followed_by_id")
    near = qs.filter(when__gte=start - recurrence.LOOK_BACK, when__lt=end)
    series = qs.filter(~Q(rrule=""), when__lt=end).filter(Q(series_end__isnull=True) | Q(series_end__gt=start))
    long = qs.filter(long_event=True, when__lt=end)
    return [part.values_list(*columns) for part in (near, series, long)]


def _taking_part(user_ids: list[int], start: datetime, end: datetime) -> QuerySet:
    """(action, type, user) of the participations of ``user_ids`` in actions that may overlap
    [start, end): read from the participants' index, each action by its primary key."""
    near = Q(action__when__gte=start - recurrence.LOOK_BACK, action__when__lt=end)
    series = ~Q(action__rrule="") & Q(action__when__lt=end)
    series &= Q(action__series_end__isnull=True) | Q(action__series_end__gt=start)
    long = Q(action__long_event=True, action__when__lt=end)
    return (
        Action.participants.through.objects.filter(user_id__in=user_ids)
        .filter(near | series | long)
        .order_by()
        .values_list("action_id", "action__action_type_id", "user_id")
    )


def candidate_queries(user_ids: list[int], start: datetime, end: datetime) -> list[QuerySet]:
    """The ranges of the actions followed by ``user_ids``, then their participations; read as one
    UNION (the query-plan test reads the plan of each half).

    The calendar types are checked on the ids read: a condition on the type here would tempt the
    planner into the (type, when) index, which holds every user's actions."""
    followed = _in_range(Action.objects.order_by().filter(followed_by_id__in=user_ids), start, end)
    return [followed[0].union(*followed[1:]), _taking_part(user_ids, start, end)]


def _candidates(user_ids: list[int], start: datetime, end: datetime, type_ids: list[int]) -> dict[int, list[int]]:
    """The calendar actions that may overlap the range, each with the shown users it belongs to
    (as follower or participant), in one query. The rows are then read by primary key
    alone: with the type in that query too, SQLite walks the (type, when) index."""
    parts = _in_range(Action.objects.order_by().filter(followed_by_id__in=user_ids), start, end)
    wanted, shown = set(type_ids), set(user_ids)
    found: dict[int, list[int]] = {}
    for pk, type_id, user_id in parts[0].union(*parts[1:], _taking_part(user_ids, start, end), all=True):
        if type_id in wanted and user_id in shown:
            users = found.setdefault(pk, [])
            if user_id not in users:
                users.append(user_id)
    return found


def _candidate_ids(user_ids: list[int], start: datetime, end: datetime, type_ids: list[int]) -> set[int]:
    return set(_candidates(user_ids, start, end, type_ids))


def agenda_entries(
    viewer: User,
    user_ids: list[int],
    start: datetime,
    end: datetime,
    *,
    include_cancelled: bool = False,
) -> list[Entry]:
    """The occurrences of the calendar actions followed by, or taken part in by, ``user_ids``
    that overlap [start, end), sorted by start; the viewer's view of each (busy or full)."""
    user_ids = list(dict.fromkeys(user_ids))[:MAX_USERS]
    if not user_ids or end <= start:
        return []
    type_ids = list(calendar_types().values_list("pk", flat=True))
    if not type_ids:
        return []
    linked = _candidates(user_ids, start, end, type_ids)
    ids = set(linked)
    if not ids:
        return []
    # The look-back brought actions that ended before the range: leave them in the database.
    ended = Q(end__lte=start, rrule="")
    rows = (
        Action.objects.filter(pk__in=ids)
        .exclude(ended)
        .select_related("action_type", "party")
        .only(
            "subject",
            "start",
            "end",
            "all_day",
            "duration_minutes",
            "status",
            "private",
            "rrule",
            "exdates",
            "series_id",
            "recurrence_id",
            "followed_by_id",
            "created_by_id",
            "version",
            "party__name",
            "action_type__colour",
            "action_type__icon",
            "action_type__default_duration",
            "action_type__name_fr",
            "action_type__name_en",
            "action_type__name_nl",
        )
    )
    if not include_cancelled:
        rows = rows.exclude(status=ActionStatus.CANCELLED)
    entries: list[Entry] = []
    for action in rows:
        # The follower first, then the participants, among the users shown.
        users = sorted(linked[action.pk], key=lambda u: (u != action.followed_by_id, u))
        visible = may_see(viewer, action)
        for occurrence in recurrence.occurrences(action, start, end):
            entry = Entry(
                action_id=action.pk,
                start=occurrence.start,
                end=occurrence.end,
                all_day=action.all_day,
                users=users,
                busy=not visible,
                recurring=bool(action.rrule),
                recurrence_id=occurrence.recurrence_id if action.rrule else None,
                editable=visible and may_change(viewer, action),
            )
            if visible:
                entry.subject = action.subject
                entry.type_id = action.action_type_id
                entry.colour = action.action_type.colour
                entry.icon = action.action_type.icon
                entry.status = action.status
                entry.party_id = action.party_id
                entry.party = action.party.name if action.party is not None else ""
                entry.private = action.private
                entry.version = action.version
            entries.append(entry)
    entries.sort(key=lambda e: (e.start, e.action_id))
    return entries


# --- saved views ---------------------------------------------------------------------------------


def visible_views(user: User) -> QuerySet[SavedView]:
    """The saved views ``user`` may open: their own and the shared ones (managers: all)."""
    if not (user and user.is_authenticated):
        return SavedView.objects.none()
    views = SavedView.objects.all() if user.is_manager else SavedView.objects.filter(Q(owner=user) | Q(shared=True))
    return views.select_related("owner").prefetch_related("users")


def listed_views(user: User) -> QuerySet[SavedView]:
    """The saved views offered in ``user``'s list: their own and the shared ones. A manager may
    open (and change) someone else's unshared view by its address, but it is not listed to them:
    it is that user's own working set."""
    if not (user and user.is_authenticated):
        return SavedView.objects.none()
    return (
        SavedView.objects.filter(Q(owner=user) | Q(shared=True))
        .select_related("owner")
        .prefetch_related("users")
        .order_by("name", "pk")
    )


def access_view(user: User, view_id) -> SavedView:
    """The saved view ``view_id`` if ``user`` may open it; 404 otherwise (others' own views
    included)."""
    try:
        return visible_views(user).get(pk=int(view_id))
    except (SavedView.DoesNotExist, ValueError, TypeError) as e:
        raise Http404 from e


# --- feeds: the actions themselves, series written once --------------------------------------------


@dataclass
class FeedAction:
    """One action of a feed as the viewer may see it: a series master once (its rule, not its
    occurrences), an exception, or a plain action. ``busy``: someone else's private action."""

    action: Action
    busy: bool


# What a feed writes of an action (``agenda.feeds``): the rows are read with these fields only.
FEED_FIELDS = (
    "subject",
    "description",
    "start",
    "end",
    "all_day",
    "duration_minutes",
    "private",
    "rrule",
    "exdates",
    "series_id",
    "recurrence_id",
    "followed_by_id",
    "created_by_id",
    "party_id",
    "version",
    "created_at",
    "updated_at",
    "party__name",
    "action_type__default_duration",
    "action_type__name_fr",
    "action_type__name_en",
    "action_type__name_nl",
)


def feed_actions(viewer: User, user_ids: list[int], start: datetime, end: datetime) -> list[FeedAction]:
    """The calendar actions of ``user_ids`` that have an occurrence in [start, end) — recurring
    masters whatever their start — unexpanded, cancelled ones left out, with the visibility rule
    of ``agenda_entries`` (``may_see``)."""
    user_ids = list(dict.fromkeys(user_ids))[:MAX_USERS]
    type_ids = list(calendar_types().values_list("pk", flat=True))
    if not user_ids or end <= start or not type_ids:
        return []
    ids = _candidate_ids(user_ids, start, end, type_ids)
    rows = (
        Action.objects.filter(pk__in=ids)
        .exclude(status=ActionStatus.CANCELLED)
        .exclude(end__lte=start, rrule="")
        .select_related("action_type", "party")
        .only(*FEED_FIELDS)
        .order_by("start", "pk")
    )
    found = []
    for action in rows:
        if action.rrule or recurrence.occurrences(action, start, end):
            found.append(FeedAction(action, busy=not may_see(viewer, action)))
    return found
