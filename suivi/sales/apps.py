from django.apps import AppConfig


class SalesConfig(AppConfig):
    name = "suivi.sales"
    label = "sales"
    verbose_name = "Sales"

    def ready(self):
        from suivi.core import audit

        from .line_history import lines_shown

        audit.describe("sales.document", "lines", lines_shown)
