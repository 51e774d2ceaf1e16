"""``suivi demo [--size large]``: load the demo company (idempotent)."""

import time

from django.core.management.base import BaseCommand

from suivi import demo


class Command(BaseCommand):
    help = "Load demo data: users with roles, parties and contacts (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--size", choices=sorted(demo.SIZES), default="standard")

    def handle(self, *args, size, **options):
        started = time.monotonic()
        password = demo.load(size, stdout=self.stdout)
        self.stdout.write(self.style.SUCCESS(f"Demo data ready ({size}) in {time.monotonic() - started:.0f} s."))
        if password:
            self.stdout.write(
                self.style.WARNING(
                    f"Log in as admin with password {password} (kept in {demo.credentials_path()}, mode 600)."
                )
            )
