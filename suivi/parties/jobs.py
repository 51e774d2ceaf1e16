"""Background jobs of the parties app."""

from datetime import timedelta

from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from .models import ImportStatus, PartyImport

STALE_AFTER = timedelta(days=7)


def purge_stale_imports(now=None) -> int:
    """Delete the files of imports left unfinished for a week (they hold personal data).

    Idempotent: a second run finds nothing more to delete.
    """
    now = now or timezone.now()
    stale = PartyImport.objects.filter(created_at__lt=now - STALE_AFTER).exclude(status=ImportStatus.APPLIED)
    count = 0
    for party_import in stale:
        party_import.file.delete(save=False)
        party_import.delete()
        count += 1
    return count


@db_periodic_task(crontab(hour="3", minute="17"))
def purge_stale_imports_daily() -> int:
    return purge_stale_imports()
