"""Background jobs of the agenda: e-mailing due reminders. The state lives in the
``ReminderDelivery`` rows (``activities.reminders``): a repeated task sends nothing twice."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from suivi.activities import reminders

from . import reminders_mail


@db_periodic_task(crontab(minute="*"))
def reminder_mail() -> None:
    """Every minute: the reminders due since the last run become rows (idempotent), then the due
    rows are claimed and e-mailed."""
    reminders.plan()
    reminders_mail.send_due()
