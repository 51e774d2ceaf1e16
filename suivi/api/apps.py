from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "suivi.api"
    label = "api"
    verbose_name = "API"

    def ready(self):
        from .fields import install

        install()  # date-times beyond the calendar in UTC: a 400, not a 500
