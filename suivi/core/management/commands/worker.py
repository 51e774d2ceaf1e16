"""``suivi worker``: runs background jobs and periodic tasks (Huey consumer)."""

from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run Suivi's background worker (Huey on SQLite, or on Redis with REDIS_URL)."

    def handle(self, *args, **options):
        call_command("run_huey")
