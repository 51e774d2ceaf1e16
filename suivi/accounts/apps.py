from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "suivi.accounts"
    label = "accounts"
    verbose_name = "Accounts"
