"""The import's steps, each run by the worker (``jobs.py``) and claimed with a lease: upload,
reading, dry run, apply. See the package's docstring for all or nothing."""

import io
import json
import tempfile
import time
from collections.abc import Iterator
from datetime import timedelta

from django.core.exceptions import PermissionDenied
from django.core.files import File
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from suivi.core import audit

from ..models import Affiliation, Contact, ImportedContact, ImportHolds, ImportStatus, Party, PartyImport
from ..services import lock_party_codes, next_party_code
from . import checking
from .checking import _Checked, _chunks, _mapped, checker_for, dry_run_rows
from .mapping import check_mapping, guess_mapping
from .reading import ImportFileError, _cut, check_size, inspect, iter_rows
from .report import Report
from .writing import ContactWriter, PartyWriter, _commit_without_waiting, _Gaps

LEASE = timedelta(minutes=5)


def _may_import(user) -> None:
    if not getattr(user, "is_manager", False):
        raise PermissionDenied(_("Only managers and administrators may import parties and contacts."))


# --- the jobs' steps ------------------------------------------------------------------------------


def create_import(*, acting_user, upload, encoding: str, holds: str = ImportHolds.PARTIES) -> PartyImport:
    """Store an uploaded file (already on disk or in memory below 5 MB) for the worker to read;
    ``holds`` says whether its rows are parties or contacts of existing parties."""
    _may_import(acting_user)
    check_size(upload.size)
    if holds not in ImportHolds.values:
        holds = ImportHolds.PARTIES
    party_import = PartyImport(created_by=acting_user, filename=upload.name[:255], encoding=encoding, holds=holds)
    party_import.file.save(f"{party_import.id}.bin", upload, save=False)
    party_import.save()
    audit.record(acting_user, "upload", party_import, {"file": [None, party_import.filename]})
    return party_import


def _claim(pk, status: str) -> PartyImport | None:
    """Take the job of ``pk`` in ``status`` unless another worker holds it (lease)."""
    now = timezone.now()
    with transaction.atomic():
        party_import = PartyImport.objects.select_for_update().filter(pk=pk, status=status).first()
        if party_import is None or (party_import.lease_until and party_import.lease_until > now):
            return None
        party_import.lease_until = now + LEASE
        party_import.progress = 0
        party_import.save(update_fields=["lease_until", "progress"])
    return party_import


def _progress(party_import: PartyImport, percent: int) -> None:
    percent = max(0, min(99, percent))
    PartyImport.objects.filter(pk=party_import.pk).update(progress=percent, lease_until=timezone.now() + LEASE)


def _fail(party_import: PartyImport, message: str, status: str = ImportStatus.FAILED) -> None:
    PartyImport.objects.filter(pk=party_import.pk).update(status=status, error=message, lease_until=None, progress=0)


def read_uploaded(pk) -> None:
    """Worker: read column names and first rows of an uploaded file, guess the mapping."""
    party_import = _claim(pk, ImportStatus.UPLOADED)
    if party_import is None:
        return
    try:
        with party_import.file.open("rb") as f:
            headers, preview = inspect(f, party_import.filename, party_import.encoding)
    except ImportFileError as e:
        _fail(party_import, str(e))
        return
    party_import.headers, party_import.preview = headers, preview
    party_import.mapping = guess_mapping(headers, party_import.holds)
    party_import.status, party_import.lease_until, party_import.error = ImportStatus.READY, None, ""
    party_import.save(update_fields=["headers", "preview", "mapping", "status", "lease_until", "error"])


def start_check(
    *, acting_user, party_import: PartyImport, mapping: dict[str, int], update_existing: bool = False
) -> list[str]:
    """Set the mapping and queue the dry run; returns the problems of the mapping, if any."""
    _may_import(acting_user)
    if party_import.status in (ImportStatus.APPLYING, ImportStatus.APPLIED, ImportStatus.UPLOADED):
        return []
    problems = check_mapping(mapping, party_import.headers, party_import.holds)
    if problems:
        return problems
    PartyImport.objects.filter(pk=party_import.pk).update(
        mapping=mapping,
        update_existing=update_existing,
        status=ImportStatus.CHECKING,
        report={},
        lease_until=None,
        progress=0,
        error="",
    )
    return []


def check_import(pk, default_country: str) -> None:
    """Worker: the dry run. Streams the file, checks every row, stages the mapped rows."""
    party_import = _claim(pk, ImportStatus.CHECKING)
    if party_import is None:
        return
    mapping = {k: int(v) for k, v in party_import.mapping.items()}
    try:
        with party_import.file.open("rb") as f, tempfile.TemporaryFile("w+b") as staged:
            size = f.size if hasattr(f, "size") else 0
            text = io.TextIOWrapper(staged, encoding="utf-8", newline="\n")
            info: dict[str, int] = {}
            rows = iter_rows(f, party_import.filename, party_import.encoding, info)
            next(rows)

            def progress(done: int) -> None:
                if declared := info.get("declared_rows"):
                    _progress(party_import, done * 100 // declared)
                elif size:
                    _progress(party_import, f.tell() * 100 // size)

            report = dry_run_rows(
                _mapped(rows, mapping),
                default_country,
                stage=text,
                progress=progress,
                update=party_import.update_existing,
                holds=party_import.holds,
            )
            text.flush()
            text.detach()
            staged.seek(0)
            if party_import.staged:
                party_import.staged.delete(save=False)
            party_import.staged.save(f"{party_import.id}.rows.jsonl", File(staged), save=False)
    except ImportFileError as e:
        _fail(party_import, str(e), ImportStatus.READY)
        return
    party_import.report = report.as_dict()
    party_import.row_count = report.accepted + report.rejected_count
    party_import.status, party_import.lease_until, party_import.progress = ImportStatus.CHECKED, None, 100
    party_import.save(update_fields=["report", "row_count", "status", "lease_until", "progress", "staged"])


def start_apply(*, acting_user, party_import: PartyImport) -> bool:
    """Queue the import of a checked file; False when there is nothing to start (already
    started, done, or not checked)."""
    _may_import(acting_user)
    return bool(
        PartyImport.objects.filter(pk=party_import.pk, status=ImportStatus.CHECKED).update(
            status=ImportStatus.APPLYING, lease_until=None, progress=0, error=""
        )
    )


def _staged_rows(party_import: PartyImport, staged: type) -> Iterator:
    """The rows the dry run checked, as ``staged`` objects (``_Checked`` for parties)."""
    with party_import.staged.open("rb") as f:
        for line in f:
            yield staged(*json.loads(line))


def _explicit_codes(party_import: PartyImport) -> set[str]:
    """The codes the file gives explicitly (automatic codes skip them). A row without the text
    ``"code"`` has no code column: it is not parsed."""
    codes = set()
    with party_import.staged.open("rb") as f:
        for line in f:
            if b'"code"' in line:
                codes.add(_Checked(*json.loads(line)).values.get("code") or "")
    return codes - {""}


def _undo(party_import: PartyImport) -> int:
    """Delete what ``party_import`` created: the contacts of a contacts import, the parties of a
    party import (their contacts first, through their affiliations)."""
    removed = 0
    imported = ImportedContact.objects.filter(party_import=party_import)
    while ids := list(imported.values_list("contact_id", flat=True)[: checking.CHUNK]):
        with transaction.atomic():
            removed += Contact.objects.filter(pk__in=ids).delete()[1].get("parties.Contact", 0)
    while ids := list(Party.objects.filter(source_import=party_import).values_list("pk", flat=True)[: checking.CHUNK]):
        with transaction.atomic():
            contacts = list(Affiliation.objects.filter(party_id__in=ids).values_list("contact_id", flat=True))
            Contact.objects.filter(pk__in=contacts).delete()
            removed += Party.objects.filter(pk__in=ids).delete()[1].get("parties.Party", 0)
    return removed


def apply_import(pk, default_country: str) -> Report | None:
    """Worker: import the checked rows of ``pk``; see the module's docstring for all or nothing."""
    party_import = _claim(pk, ImportStatus.APPLYING)
    if party_import is None:
        return None
    try:
        _may_import(party_import.created_by)
    except PermissionDenied as e:
        _fail(party_import, str(e), ImportStatus.CHECKED)
        raise
    _undo(party_import)  # a previous attempt that died half-way
    total = max(party_import.row_count, 1)
    checker = checker_for(party_import.holds, default_country, party_import.update_existing)
    writer: PartyWriter | ContactWriter
    if party_import.holds == ImportHolds.CONTACTS:
        writer = ContactWriter(party_import)
    else:
        writer = PartyWriter(party_import, int(next_party_code()[1:]), _explicit_codes(party_import))
    created = 0
    try:
        reported = time.monotonic()
        gaps = _Gaps()
        for chunk in _chunks(_staged_rows(party_import, checker.staged)):
            with transaction.atomic():
                _commit_without_waiting()
                lock_party_codes()  # also one import's chunk at a time: their duplicate checks hold
                created += writer.write(checker.settle(chunk))
            gaps.after_chunk()
            if time.monotonic() - reported > 1:
                reported = time.monotonic()
                _progress(party_import, (checker.report.accepted + checker.report.rejected_count) * 100 // total)
    except Exception as e:
        _undo(party_import)
        _fail(
            party_import,
            _("The import failed and nothing was imported (%(reason)s). Check the file again, then import.")
            % {"reason": _cut(str(e), 200)},
            ImportStatus.CHECKED,
        )
        raise
    report = checker.report
    report.created = created
    report.updated = report.to_update
    with transaction.atomic():
        party_import.report = report.as_dict()
        party_import.status, party_import.lease_until, party_import.progress = ImportStatus.APPLIED, None, 100
        party_import.save(update_fields=["report", "status", "lease_until", "progress"])
        audit.record(
            party_import.created_by,
            "import",
            party_import,
            {"file": [None, party_import.filename], "created": [0, created], "updated": [0, report.updated]},
        )
    party_import.staged.delete(save=False)
    party_import.file.delete(save=False)
    PartyImport.objects.filter(pk=party_import.pk).update(staged="", file="")
    return report
