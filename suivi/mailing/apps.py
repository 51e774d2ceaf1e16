from django.apps import AppConfig


class MailingConfig(AppConfig):
    name = "suivi.mailing"
    label = "mailing"
    verbose_name = "Mail"
