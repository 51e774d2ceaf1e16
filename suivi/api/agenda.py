"""REST endpoints of the shared agenda and planning (issue 12, point 6), behind the M2 gate:

- ``GET /api/v1/agenda/?users=1,2&start=…&end=…``: the occurrences of those users' calendar
  actions in the range, recurrences expanded (``agenda_entries``): someone else's private action
  is a busy block with its times and users only (no subject, party, type or status).
- ``GET /api/v1/availability/?users=1,2&duration=60&start=…&end=…``: the next slots when every
  one of them is free (``agenda.planning.free_slots``).

``users`` is a comma-separated list (or the parameter repeated), the caller by default; ``start``
and ``end`` are ISO 8601 dates or date-times — without an offset they are read in the company's
time zone. A bad parameter is a 400 that says which one and why.
"""

from datetime import UTC, date, datetime, time, timedelta

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from suivi.accounts.models import User
from suivi.activities.recurrence import company_zone
from suivi.agenda import planning
from suivi.agenda.queries import MAX_USERS, agenda_entries
from suivi.core.models import CrmLevel
from suivi.lib.ids import parse_id

from .views import CrmViewSet

# The longest range one agenda read covers (a month view shows six weeks).
MAX_AGENDA_DAYS = 62
MAX_SLOTS = 100


class EntrySerializer(serializers.Serializer):
    key = serializers.CharField(help_text="The occurrence: the action, and its original start in a series.")
    action_id = serializers.IntegerField()
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    all_day = serializers.BooleanField()
    users = serializers.ListField(
        child=serializers.IntegerField(), help_text="Which of the users asked for it concerns."
    )
    busy = serializers.BooleanField(help_text="Someone else's private action: times and users only.")
    recurring = serializers.BooleanField()
    recurrence_id = serializers.DateTimeField(allow_null=True, help_text="The original start of a series' occurrence.")
    editable = serializers.BooleanField()
    subject = serializers.CharField(required=False)
    type_id = serializers.IntegerField(required=False, allow_null=True)
    status = serializers.CharField(required=False)
    party_id = serializers.IntegerField(required=False, allow_null=True)
    party = serializers.CharField(required=False)
    private = serializers.BooleanField(required=False)
    version = serializers.IntegerField(required=False)


class SlotSerializer(serializers.Serializer):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()


USERS = OpenApiParameter(
    "users", OpenApiTypes.STR, description="User ids, comma-separated (default: the caller).", required=False
)
START = OpenApiParameter("start", OpenApiTypes.STR, description="ISO 8601 date or date-time.", required=True)
END = OpenApiParameter("end", OpenApiTypes.STR, description="ISO 8601 date or date-time (excluded).", required=True)


def _users(params, viewer: User, limit: int) -> list[int]:
    ids: list[int] = []
    for raw in params.getlist("users"):
        for part in raw.split(","):
            if not part.strip():
                continue
            number = parse_id(part.strip())
            if number is None:
                raise ValidationError({"users": [_("“%(value)s” is not a user number.") % {"value": part[:40]}]})
            if number not in ids:
                ids.append(number)
    if len(ids) > limit:
        raise ValidationError(
            {
                "users": [
                    _("At most %(limit)s users at once (you asked for %(count)s).")
                    % {"limit": limit, "count": len(ids)}
                ]
            }
        )
    known = set(User.objects.filter(pk__in=ids).values_list("pk", flat=True))
    unknown = [str(pk) for pk in ids if pk not in known]
    if unknown:
        raise ValidationError({"users": [_("No user %(ids)s.") % {"ids": ", ".join(unknown)}]})
    return ids or [viewer.pk]


def _when(params, name: str) -> datetime:
    raw = (params.get(name) or "").strip()
    if not raw:
        raise ValidationError({name: [_("Give the %(name)s (an ISO 8601 date or date-time).") % {"name": name}]})
    try:
        if len(raw) == 10:
            value = datetime.combine(date.fromisoformat(raw), time(0))
        else:
            value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError as e:
        raise ValidationError(
            {name: [_("“%(value)s” is not an ISO 8601 date or date-time.") % {"value": raw[:40]}]}
        ) from e
    if not 1900 <= value.year <= 2200:
        raise ValidationError({name: [_("Give a date between the years 1900 and 2200.")]})
    if value.tzinfo is None:
        value = value.replace(tzinfo=company_zone())
    try:
        return value.astimezone(UTC)
    except (OverflowError, ValueError) as e:
        raise ValidationError({name: [_("This date is out of range.")]}) from e


def _range(params, max_days: int) -> tuple[datetime, datetime]:
    start, end = _when(params, "start"), _when(params, "end")
    if end <= start:
        raise ValidationError({"end": [_("The end must be after the start.")]})
    if end - start > timedelta(days=max_days):
        raise ValidationError({"end": [_("At most %(days)s days at once.") % {"days": max_days}]})
    return start, end


def _number(params, name: str, default: int, low: int, high: int) -> int:
    raw = params.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError as e:
        raise ValidationError({name: [_("A whole number, please.")]}) from e
    if not low <= value <= high:
        raise ValidationError({name: [_("Between %(low)s and %(high)s.") % {"low": low, "high": high}]})
    return value


class AgendaViewSet(CrmViewSet):
    """The shared agenda's occurrences (M2)."""

    crm_level = CrmLevel.FULL
    queryset = None
    pagination_class = None
    filter_backends: list = []

    @extend_schema(parameters=[USERS, START, END], responses=EntrySerializer(many=True))
    def list(self, request):
        params = request.query_params
        user_ids = _users(params, request.user, MAX_USERS)
        start, end = _range(params, MAX_AGENDA_DAYS)
        out = []
        for entry in agenda_entries(request.user, user_ids, start, end):
            row = {
                "key": entry.key,
                "action_id": entry.action_id,
                "start": entry.start.isoformat(),
                "end": entry.end.isoformat(),
                "all_day": entry.all_day,
                "users": entry.users,
                "busy": entry.busy,
                "recurring": entry.recurring,
                "recurrence_id": entry.recurrence_id.isoformat() if entry.recurrence_id else None,
                "editable": entry.editable,
            }
            if not entry.busy:
                row.update(
                    subject=entry.subject,
                    type_id=entry.type_id,
                    status=entry.status,
                    party_id=entry.party_id,
                    party=entry.party,
                    private=entry.private,
                    version=entry.version,
                )
            out.append(row)
        # Plain dicts, not the serializer's output: it would add the busy rows' missing fields
        # back as nulls, and a busy block carries no trace of them.
        return Response(out)


class AvailabilityViewSet(CrmViewSet):
    """Free slots of several users (M2, planning)."""

    crm_level = CrmLevel.FULL
    queryset = None
    pagination_class = None
    filter_backends: list = []

    @extend_schema(
        parameters=[
            USERS,
            OpenApiParameter("duration", OpenApiTypes.INT, description="Minutes (5–1440).", required=True),
            START,
            END,
            OpenApiParameter(
                "step", OpenApiTypes.INT, description="Minutes between possible starts (default 15).", required=False
            ),
            OpenApiParameter(
                "limit", OpenApiTypes.INT, description="How many slots (default 10, at most 100).", required=False
            ),
        ],
        responses=SlotSerializer(many=True),
    )
    def list(self, request):
        params = request.query_params
        user_ids = _users(params, request.user, planning.MAX_USERS_PER_SEARCH)
        if params.get("duration") in (None, ""):
            raise ValidationError({"duration": [_("Give the duration in minutes.")]})
        duration = _number(params, "duration", 60, 5, 24 * 60)
        step = _number(params, "step", 15, 5, 24 * 60)
        limit = _number(params, "limit", 10, 1, MAX_SLOTS)
        start, end = _range(params, planning.MAX_WINDOW.days)
        slots = planning.free_slots(
            user_ids, timedelta(minutes=duration), start, end, step=timedelta(minutes=step), limit=limit
        )
        return Response(SlotSerializer([{"start": s.start, "end": s.end} for s in slots], many=True).data)


def register(router) -> None:
    router.register("agenda", AgendaViewSet, basename="agenda")
    router.register("availability", AvailabilityViewSet, basename="availability")
