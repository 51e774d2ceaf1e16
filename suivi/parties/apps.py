from django.apps import AppConfig


class PartiesConfig(AppConfig):
    name = "suivi.parties"
    label = "parties"
    verbose_name = "Parties"

    def ready(self) -> None:
        from . import jobs  # noqa: F401  registers the periodic jobs with the worker
