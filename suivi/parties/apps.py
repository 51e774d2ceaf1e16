from django.apps import AppConfig


class PartiesConfig(AppConfig):
    name = "suivi.parties"
    label = "parties"
    verbose_name = "Parties"
