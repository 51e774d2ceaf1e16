from django.apps import AppConfig


class ActivitiesConfig(AppConfig):
    name = "suivi.activities"
    label = "activities"
    verbose_name = "Activities"

    def ready(self) -> None:
        from suivi.core import audit

        # Registers the reminder sweep with the worker (it discovers only `tasks` modules).
        from . import jobs  # noqa: F401
        from .recurrence import shown_day, shown_moment, shown_moments, shown_rule
        from .reminders import shown_minutes

        # How the history reads what the services record: local times, rules and reminders in words.
        for key in ("start", "end", "when", "recurrence_id", "series_end"):
            audit.describe("activities.action", key, shown_moment)
        audit.describe("activities.action", "due_date", shown_day)
        audit.describe("activities.action", "exdates", shown_moments)
        audit.describe("activities.action", "rrule", shown_rule)
        audit.describe("activities.action", "reminders", shown_minutes)
