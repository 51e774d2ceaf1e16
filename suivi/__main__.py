"""The ``suivi`` command: Django's management commands under one name.

Besides Django's own (``suivi migrate``, ``suivi createsuperuser``…), Suivi adds ``suivi serve``
(production server), ``suivi worker`` (background jobs) and ``suivi demo`` (demo data).
"""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "suivi.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
