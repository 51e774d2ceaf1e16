from django.apps import AppConfig


class ActivitiesConfig(AppConfig):
    name = "suivi.activities"
    label = "activities"
    verbose_name = "Activities"

    def ready(self) -> None:
        # Registers the reminder sweep with the worker (it discovers only `tasks` modules).
        from . import jobs  # noqa: F401
