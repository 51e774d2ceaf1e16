from django.apps import AppConfig


class MailingConfig(AppConfig):
    name = "suivi.mailing"
    label = "mailing"
    verbose_name = "Mail"

    def ready(self) -> None:
        # Registers the tasks and periodic sweeps with the worker (it discovers only `tasks` modules).
        from . import bounces, jobs  # noqa: F401
