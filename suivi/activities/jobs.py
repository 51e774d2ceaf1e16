"""Background jobs of actions. The state lives in the rows (``ReminderDelivery``): a repeated or
concurrent task creates nothing twice."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from . import reminders


@db_periodic_task(crontab(minute="*"))
def reminder_plan() -> None:
    """Every minute: the reminders due since the last run become rows (the browser reads them;
    ``agenda.jobs`` e-mails them)."""
    reminders.plan()
