"""The agenda's demo data: a weekly team meeting everyone attends, a monthly review, a part-time
week, a week of leave, and the Belgian public holidays — enough to try the shared agenda, the
free-slot search and the feeds on the first day. Idempotent (made once)."""

from datetime import date, datetime, time, timedelta

from django.db import transaction
from django.utils import timezone

from suivi.accounts.models import User
from suivi.activities import services as action_services
from suivi.activities.models import Action, ActionType
from suivi.activities.recurrence import company_zone

from .models import Absence, Holiday, WorkingHours

TEAM_MEETING = "Réunion d'équipe"

# Belgian public holidays (fixed dates and the Easter-based ones) of the demo's years.
HOLIDAYS = {
    date(2026, 1, 1): "Nouvel An",
    date(2026, 4, 6): "Lundi de Pâques",
    date(2026, 5, 1): "Fête du Travail",
    date(2026, 5, 14): "Ascension",
    date(2026, 5, 25): "Lundi de Pentecôte",
    date(2026, 7, 21): "Fête nationale",
    date(2026, 8, 15): "Assomption",
    date(2026, 11, 1): "Toussaint",
    date(2026, 11, 11): "Armistice",
    date(2026, 12, 25): "Noël",
    date(2027, 1, 1): "Nouvel An",
    date(2027, 3, 29): "Lundi de Pâques",
    date(2027, 5, 1): "Fête du Travail",
    date(2027, 5, 6): "Ascension",
    date(2027, 5, 17): "Lundi de Pentecôte",
    date(2027, 7, 21): "Fête nationale",
    date(2027, 8, 15): "Assomption",
    date(2027, 11, 1): "Toussaint",
    date(2027, 11, 11): "Armistice",
    date(2027, 12, 25): "Noël",
}


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=company_zone())


@transaction.atomic
def load_agenda(users: list[User]) -> None:
    for day, name in HOLIDAYS.items():
        Holiday.objects.get_or_create(day=day, defaults={"name": name})
    if Action.objects.filter(subject=TEAM_MEETING).exists() or len(users) < 5:
        return
    meeting = ActionType.objects.filter(is_calendar_item=True).order_by("position").first()
    if meeting is None:
        return
    manager = next((u for u in users if u.username == "sophie"), users[0])
    today = timezone.localdate()
    monday = today - timedelta(days=today.weekday())
    team = action_services.create_action(
        acting_user=manager,
        values={
            "subject": TEAM_MEETING,
            "action_type": meeting,
            "followed_by": manager,
            "start": _at(monday - timedelta(weeks=8), 9),
            "end": _at(monday - timedelta(weeks=8), 9, 45),
            "rrule": "FREQ=WEEKLY;BYDAY=MO",
            "description": "Le point de la semaine : pipeline, agenda, support.",
        },
    )
    team.participants.set([u for u in users[:5] if u != manager])
    action_services.create_action(
        acting_user=manager,
        values={
            "subject": "Revue mensuelle des ventes",
            "action_type": meeting,
            "followed_by": manager,
            "start": _at(today.replace(day=1), 14),
            "end": _at(today.replace(day=1), 15, 30),
            "rrule": "FREQ=MONTHLY;BYDAY=1TU",
        },
    )
    by_name = {u.username: u for u in users}
    if emma := by_name.get("emma"):  # part time: no Wednesday
        for weekday in (0, 1, 3, 4):
            WorkingHours.objects.get_or_create(user=emma, weekday=weekday, start=time(8, 30), end=time(12, 30))
            WorkingHours.objects.get_or_create(user=emma, weekday=weekday, start=time(13, 0), end=time(16, 30))
    if luc := by_name.get("luc"):  # a week of leave in three weeks
        leave = monday + timedelta(weeks=3)
        Absence.objects.get_or_create(
            user=luc, start=_at(leave, 0), end=_at(leave + timedelta(days=5), 0), defaults={"reason": "Congé"}
        )
