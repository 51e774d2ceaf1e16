"""Imports are bounded and never block the others (issue 6, point 7)."""

import io
import threading
import time
import tracemalloc
import zipfile

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from huey.contrib.djhuey import HUEY
from openpyxl import Workbook

from suivi.parties import importing, jobs
from suivi.parties import services as party_services
from suivi.parties.models import Party, PartyImport

from . import factories


@pytest.fixture
def jobs_run_at_once():
    was = HUEY.immediate
    HUEY.immediate = True
    yield
    HUEY.immediate = was


def upload(client, content: bytes, name="parties.csv"):
    data = {"file": SimpleUploadedFile(name, content), "encoding": "utf-8"}
    return client.post("/parties/import/", data, follow=True)


def check(client, imp, **extra):
    fields = {f"map_{k}": v for k, v in imp.mapping.items()}
    return client.post(f"/parties/import/{imp.pk}/", {**fields, **extra}, follow=True)


def xlsx(rows) -> bytes:
    wb = Workbook()
    for row in rows:
        wb.active.append(row)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def with_shared_strings(data: bytes, strings_xml: bytes) -> bytes:
    """The workbook ``data`` whose shared-strings part is replaced by ``strings_xml``."""
    source, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            if info.filename != "xl/sharedStrings.xml":
                target.writestr(info, source.read(info))
        target.writestr("xl/sharedStrings.xml", strings_xml)
    return out.getvalue()


def test_the_upload_is_read_by_the_worker_and_the_page_polls_its_progress(manager_client):
    HUEY.flush()
    response = upload(manager_client, b"name;city\nGarage Peeters;Gent\n")
    imp = PartyImport.objects.get()
    assert imp.status == "uploaded" and not imp.headers  # nothing parsed in the request
    page = response.content.decode()
    assert "<progress" in page and 'hx-trigger="every 1s"' in page
    task = HUEY.dequeue()
    assert task is not None and task.name.endswith("import_step")
    jobs.run_import_step(*task.args)  # as the worker does (HUEY.execute would close the test's connection)
    imp.refresh_from_db()
    assert imp.status == "ready" and imp.headers == ["name", "city"]
    poll = manager_client.get(f"/parties/import/{imp.pk}/", headers={"HX-Request": "true"})
    assert poll["HX-Refresh"] == "true"  # the step is over: the page reloads to its result
    assert "Garage Peeters" in manager_client.get(f"/parties/import/{imp.pk}/").content.decode()
    HUEY.flush()


def test_a_workbook_declaring_a_400_mb_shared_string_is_refused_unread(manager_client, jobs_run_at_once):
    huge = b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>' + b"A" * (
        400 * 1024 * 1024
    )
    data = with_shared_strings(xlsx([["name"], ["x"]]), huge + b"</t></si></sst>")
    del huge
    assert len(data) < 2 * 1024 * 1024
    tracemalloc.start()
    page = upload(manager_client, data, name="bomb.xlsx").content.decode()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert "This workbook is too large once unpacked (400 MB of texts; 48 MB at most)" in page
    assert peak < 50 * 1024 * 1024
    assert PartyImport.objects.get().status == "failed"


def test_a_workbook_cell_of_2_mb_is_refused_before_openpyxl_reads_it(manager_client, jobs_run_at_once):
    strings = b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="2" uniqueCount="2">'
    strings += b"<si><t>name</t></si><si><t>" + b"B" * (2 * 1024 * 1024) + b"</t></si></sst>"
    data = with_shared_strings(xlsx([["name"], ["x"]]), strings)
    page = upload(manager_client, data, name="big-cell.xlsx").content.decode()
    assert "A cell of this workbook holds more than 1 MB of text" in page


@pytest.mark.parametrize("name", ["cells.csv", "cells.xlsx"])
def test_a_long_cell_is_refused_while_streaming_and_the_page_stays_small(manager_client, jobs_run_at_once, name):
    long_cell = "Z" * 30_000
    if name.endswith(".csv"):
        data = f"name;notes\nA;short\nB;{long_cell}\n".encode()
    else:
        data = xlsx([["name", "notes"], ["A", "short"], ["B", long_cell]])
    response = upload(manager_client, data, name=name)
    page = response.content.decode()
    assert "Line 3, column 2 holds 30,000 characters; a cell holds 2,000 at most" in page
    assert len(response.content) < 30_000 and "Z" * 100 not in page


def test_a_csv_line_without_end_is_refused_with_its_line(manager_client, jobs_run_at_once):
    page = upload(manager_client, b"name\n" + b"x" * 3_000_000).content.decode()
    assert "Line 2 is longer than 200,000 characters" in page


def test_the_page_never_shows_a_cell_whole(manager_client, jobs_run_at_once):
    cell = "Y" * 1_900  # under the limit: read, but cut short on the page
    upload(manager_client, f"name;notes\nA;{cell}\n".encode())
    page = manager_client.get(f"/parties/import/{PartyImport.objects.get().pk}/").content.decode()
    assert "Y" * 59 in page and "Y" * 61 not in page


@pytest.mark.parametrize("name", ["many.csv", "many.xlsx"])
def test_the_row_limit_is_checked_while_streaming(manager_client, jobs_run_at_once, monkeypatch, name):
    monkeypatch.setattr(importing.reading, "MAX_ROWS", 50)
    rows = [["name"]] + [[f"Firm {i}"] for i in range(51)]
    data = "\n".join(r[0] for r in rows).encode() if name.endswith(".csv") else xlsx(rows)
    upload(manager_client, data, name=name)
    imp = PartyImport.objects.get()
    page = check(manager_client, imp, check="1").content.decode()
    assert "The file has more than 50 rows. Split it and import each part." in page
    assert not Party.objects.exists()


def test_an_explicit_code_equal_to_the_next_automatic_code_imports(manager_client, manager_user, jobs_run_at_once):
    factories.party(manager_user, name="Existing")  # P000001
    content = "code;name\n;Automatic One\nP000002;Explicit Two\n;Automatic Three\n"
    upload(manager_client, content.encode())
    imp = PartyImport.objects.get()
    page = check(manager_client, imp, check="1").content.decode()
    assert "3 rows will be imported; 0 rows are rejected" in page
    page = check(manager_client, imp, apply="1").content.decode()
    assert "Done: 3 parties imported." in page
    codes = dict(Party.objects.values_list("name", "code"))
    assert codes["Explicit Two"] == "P000002"
    assert len(set(codes.values())) == 4


def test_the_import_rechecks_what_changed_since_the_dry_run(manager_client, manager_user, jobs_run_at_once):
    upload(manager_client, b"code;name\nK1;Firm One\nK2;Firm Two\n")
    imp = PartyImport.objects.get()
    check(manager_client, imp, check="1")
    factories.party(manager_user, name="Someone else's", code="K2")  # saved between dry run and import
    page = check(manager_client, imp, apply="1").content.decode()
    assert "Done: 1 party imported." in page and "the code K2 already exists" in page


def test_only_managers_may_import_whatever_the_path(plain_user, manager_user):
    upload_file = SimpleUploadedFile("p.csv", b"name\nA\n")
    with pytest.raises(PermissionDenied):
        importing.create_import(acting_user=plain_user, upload=upload_file, encoding="utf-8")
    imp = importing.create_import(acting_user=manager_user, upload=upload_file, encoding="utf-8")
    with pytest.raises(PermissionDenied):
        importing.start_check(acting_user=plain_user, party_import=imp, mapping={"name": 0})
    with pytest.raises(PermissionDenied):
        importing.start_apply(acting_user=plain_user, party_import=imp)


@pytest.mark.django_db(transaction=True)
def test_other_users_save_while_an_import_runs(manager_user, monkeypatch, settings):
    """A 6,000-row import in a worker thread; meanwhile another user creates and edits parties.
    Each save succeeds within a second, and they land between the import's chunks."""
    monkeypatch.setattr(importing.checking, "CHUNK", 200)
    factories.party(manager_user, name="Edited during the import")
    rows = "".join(f"Firm {i};Namur;info{i}@firm{i}.be\n" for i in range(6000))
    upload_file = SimpleUploadedFile("big.csv", ("name;city;email\n" + rows).encode())
    imp = importing.create_import(acting_user=manager_user, upload=upload_file, encoding="utf-8")
    importing.read_uploaded(imp.pk)
    imp.refresh_from_db()
    importing.start_check(acting_user=manager_user, party_import=imp, mapping=imp.mapping)
    importing.check_import(imp.pk, "BE")
    importing.start_apply(acting_user=manager_user, party_import=imp)
    failures = []

    def run_import():
        from django.db import connection

        try:
            importing.apply_import(imp.pk, "BE")
        except Exception as e:  # pragma: no cover - reported below
            failures.append(e)
        finally:
            connection.close()

    worker = threading.Thread(target=run_import)
    worker.start()
    while not Party.objects.filter(source_import=imp).exists():
        time.sleep(0.01)
    waits, seen_during = [], []
    for i in range(5):
        started = time.monotonic()
        party_services.create_party(acting_user=manager_user, values={"name": f"Saved by hand {i}"})
        waits.append(time.monotonic() - started)
        imported = Party.objects.filter(source_import=imp).count()
        seen_during.append((PartyImport.objects.get(pk=imp.pk).status, imported))
        time.sleep(0.05)
    worker.join()
    assert not failures
    assert max(waits) < 1.0, waits
    assert [status for status, _n in seen_during].count("applying") >= 3  # the import was running
    assert Party.objects.filter(source_import=imp).count() == 6000
    assert Party.objects.filter(name__startswith="Saved by hand").count() == 5
    assert Party.objects.values("code").distinct().count() == Party.objects.count()


def test_a_stalled_import_is_resumed_and_finishes_once(manager_user, jobs_run_at_once):
    from datetime import timedelta

    from django.utils import timezone

    imp = importing.create_import(
        acting_user=manager_user, upload=SimpleUploadedFile("p.csv", b"name\nA\nB\n"), encoding="utf-8"
    )
    importing.read_uploaded(imp.pk)
    imp.refresh_from_db()
    importing.start_check(acting_user=manager_user, party_import=imp, mapping=imp.mapping)
    importing.check_import(imp.pk, "BE")
    importing.start_apply(acting_user=manager_user, party_import=imp)
    # A worker died half-way: one party written, its lease expired.
    Party.objects.create(name="A", code="P000001", source_import=imp)
    PartyImport.objects.filter(pk=imp.pk).update(created_at=timezone.now() - timedelta(minutes=10))
    assert jobs.resume_stalled_imports() == 1
    assert sorted(Party.objects.values_list("name", flat=True)) == ["A", "B"]
    assert jobs.resume_stalled_imports() == 0
