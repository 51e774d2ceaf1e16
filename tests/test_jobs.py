"""Background jobs go through the configured queue: SQLite by default, Redis with REDIS_URL."""

from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone
from huey.contrib.djhuey import HUEY

from suivi.parties.jobs import purge_stale_imports, purge_stale_imports_daily
from suivi.parties.models import ImportStatus, PartyImport


def make_import(user, days_old, status=ImportStatus.CHECKED):
    party_import = PartyImport(created_by=user, filename="x.csv", status=status)
    party_import.file.save(f"{party_import.id}.bin", ContentFile(b"name\nA\n"), save=False)
    party_import.save()
    PartyImport.objects.filter(pk=party_import.pk).update(created_at=timezone.now() - timedelta(days=days_old))
    return party_import


def test_stale_unfinished_imports_are_purged_with_their_files(plain_user, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    stale = make_import(plain_user, 8)
    fresh = make_import(plain_user, 1)
    done = make_import(plain_user, 30, ImportStatus.APPLIED)
    path = tmp_path / stale.file.name
    assert path.exists()
    assert purge_stale_imports() == 1
    assert not path.exists()
    assert set(PartyImport.objects.values_list("pk", flat=True)) == {fresh.pk, done.pk}
    assert purge_stale_imports() == 0


# The worker closes its database connection after each job (huey's db_periodic_task), which a
# test wrapped in a transaction would not survive: this one commits for real.
@pytest.mark.django_db(transaction=True)
def test_the_job_runs_through_the_configured_queue(plain_user, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    make_import(plain_user, 10)
    expected = "RedisHuey" if settings.HUEY["huey_class"].endswith("RedisHuey") else "SqliteHuey"
    assert type(HUEY).__name__ == expected
    HUEY.flush()
    result = purge_stale_imports_daily.s()
    HUEY.storage.enqueue(HUEY.serialize_task(result))  # as a producer does, without running it
    task = HUEY.dequeue()
    assert task is not None and task.name.endswith("purge_stale_imports_daily")
    assert HUEY.execute(task) == 1
    assert not PartyImport.objects.exists()
