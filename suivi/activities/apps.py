from django.apps import AppConfig


class ActivitiesConfig(AppConfig):
    name = "suivi.activities"
    label = "activities"
    verbose_name = "Activities"
