"""Background jobs of the parties app.

The import's steps run here, never in a web request: reading the uploaded file, the dry run and
the import itself. Each task only wakes the work up: the state lives in the ``PartyImport`` row
(its status and lease), so a repeated task does nothing twice and a sweep resumes work whose
worker died.
"""

from datetime import timedelta

from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from suivi.core.company import company_settings

from . import importing
from .models import ImportStatus, PartyImport

STALE_AFTER = timedelta(days=7)


def purge_stale_imports(now=None) -> int:
    """Delete the files of imports left unfinished for a week (they hold personal data).

    Idempotent: a second run finds nothing more to delete.
    """
    now = now or timezone.now()
    stale = PartyImport.objects.filter(created_at__lt=now - STALE_AFTER).exclude(
        status__in=[ImportStatus.APPLIED, ImportStatus.APPLYING]
    )
    count = 0
    for party_import in stale:
        party_import.file.delete(save=False)
        if party_import.staged:
            party_import.staged.delete(save=False)
        party_import.delete()
        count += 1
    return count


@db_periodic_task(crontab(hour="3", minute="17"))
def purge_stale_imports_daily() -> int:
    return purge_stale_imports()


def run_import_step(pk) -> None:
    """Do what the import ``pk`` waits for (read the file, dry run or import)."""
    status = PartyImport.objects.filter(pk=pk).values_list("status", flat=True).first()
    if status == ImportStatus.UPLOADED:
        importing.read_uploaded(pk)
    elif status == ImportStatus.CHECKING:
        importing.check_import(pk, company_settings().country)
    elif status == ImportStatus.APPLYING:
        importing.apply_import(pk, company_settings().country)


@db_task()
def import_step(pk) -> None:
    run_import_step(pk)


def resume_stalled_imports(now=None) -> int:
    """Queue again the imports whose worker stopped (lease expired) or whose task was lost."""
    now = now or timezone.now()
    waiting = PartyImport.objects.filter(
        status__in=[ImportStatus.UPLOADED, ImportStatus.CHECKING, ImportStatus.APPLYING],
        created_at__lt=now - timedelta(minutes=1),
    ).exclude(lease_until__gt=now)
    pks = list(waiting.values_list("pk", flat=True))
    for pk in pks:
        import_step(pk)
    return len(pks)


@db_periodic_task(crontab(minute="*/5"))
def resume_stalled_imports_often() -> int:
    return resume_stalled_imports()
