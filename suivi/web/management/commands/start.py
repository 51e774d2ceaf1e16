"""``suivi start``: what ``make run`` runs. Migrates, loads the demo on first start, then runs
the web server and the worker side by side until Ctrl-C, which stops both."""

import os
import signal
import subprocess
import sys
import time

from django.core.management import call_command
from django.core.management.base import BaseCommand

from suivi import demo
from suivi.accounts.models import User


class Command(BaseCommand):
    help = "Set up and run Suivi locally: web server and worker (Ctrl-C stops both)."

    def add_arguments(self, parser):
        parser.add_argument("--no-demo", action="store_true")

    def handle(self, *args, no_demo=False, **options):
        call_command("migrate", verbosity=0, interactive=False)
        if not no_demo and not User.objects.exists():
            self.stdout.write("First start: loading demo data…")
            call_command("demo")
        port = os.environ.get("PORT", "8000")
        host = os.environ.get("HOST", "127.0.0.1")
        env = {**os.environ, "PORT": port, "HOST": host}
        suivi = [sys.executable, "-m", "suivi"]
        children = [
            subprocess.Popen([*suivi, "worker"], env=env),
            subprocess.Popen([*suivi, "serve", "--workers", os.environ.get("WEB_CONCURRENCY", "2")], env=env),
        ]
        path = demo.credentials_path()
        hint = f"log in with the credentials in {path}" if path.exists() else "log in"
        self.stdout.write(self.style.SUCCESS(f"Suivi runs on http://{host}:{port}/ — {hint}. Ctrl-C stops it."))
        if path.exists():
            self.stdout.write(path.read_text())

        def stop(signum=None, frame=None):
            for child in children:
                if child.poll() is None:
                    child.terminate()
            deadline = time.monotonic() + 15
            for child in children:
                try:
                    child.wait(max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    child.kill()
            sys.exit(0)

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
        self.stderr.write("A Suivi process stopped; stopping the other.")
        stop()
