"""The worker knows the mail tasks: sending a mail, reading mailboxes, sending e-mailings and the
sweeps that resume them (they are registered when Django starts, not discovered by name)."""

import subprocess
import sys


def test_a_fresh_worker_process_has_every_mail_task_registered():
    script = (
        "import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'suivi.settings'); django.setup();"
        "from huey.contrib.djhuey import HUEY;"
        "print('\\n'.join(sorted(HUEY._registry._registry)))"
    )
    names = subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, text=True).stdout
    for task in ("deliver_mail", "read_mailbox", "send_mailing", "mail_sweep", "inbox_sweep", "mailing_sweep"):
        assert f"suivi.mailing.jobs.{task}" in names, names
    assert "suivi.mailing.bounces." in names
