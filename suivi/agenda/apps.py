from django.apps import AppConfig


class AgendaConfig(AppConfig):
    """The shared agenda (S2a) and planning (S2c) of CRM level M2: everyone's calendar actions,
    working hours and absences, free-slot search, and ICS feeds."""

    name = "suivi.agenda"
    label = "agenda"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Registers the reminder mail sweep with the worker (it discovers only `tasks` modules).
        from . import jobs  # noqa: F401
