from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "suivi.core"
    label = "core"
    verbose_name = "Suivi core"

    def ready(self) -> None:
        from . import lookups  # noqa: F401  registers the `prefix` lookup
