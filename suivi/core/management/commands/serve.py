"""``suivi serve``: the production web server (gunicorn) on HOST:PORT."""

import os
import sys

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Serve Suivi with gunicorn (production). HOST, PORT and WEB_CONCURRENCY apply."

    def add_arguments(self, parser):
        parser.add_argument("--bind", default=None)
        parser.add_argument("--workers", type=int, default=None)

    def handle(self, *args, **options):
        bind = options["bind"] or (f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}")
        workers = options["workers"] or int(os.environ.get("WEB_CONCURRENCY", "3"))
        argv = [
            sys.executable,
            "-m",
            "gunicorn",
            "suivi.wsgi:application",
            "--bind",
            bind,
            "--workers",
            str(workers),
            "--access-logfile",
            "-",
            "--graceful-timeout",
            "10",
        ]
        os.execvp(argv[0], argv)
