from django.apps import AppConfig


class SalesConfig(AppConfig):
    name = "suivi.sales"
    label = "sales"
    verbose_name = "Sales"
