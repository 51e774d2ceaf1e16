"""Import of parties (with an optional contact each), or of contacts of existing parties, from CSV
or XLSX.

Steps: the file is uploaded (its size checked, stored to disk) and the worker reads its column
names and first rows; the user maps columns to fields and the worker makes a dry run that reports
every rejected row with its line and reason; on confirmation the worker applies the accepted rows.
Each step is a background job (``jobs.py``) that reports its progress on the import; nothing here
runs in a web request, so no upload is ever read whole by a web worker.

Bounds: the file is streamed (CSV line by line, XLSX through ``reading._sheet_rows`` once the
sizes of the zip members were checked), with at most ``MAX_ROWS`` rows, ``MAX_COLUMNS`` columns
and ``MAX_CELL`` characters a cell, checked while reading; the worker's memory stays bounded
whatever the file holds.

All or nothing without blocking the others. The dry run checks each row on its own
(``Checker.prepare``: a pure function of the row) and stores the outcome, one JSON line a row; then
it checks duplicates against the database and within the file (``Checker.settle``). Applying
reads the stored rows and runs ``Checker.settle`` again, chunk by chunk, inside the transaction that
writes the chunk — so the import accepts exactly what the dry run would accept at that moment,
and two imports or a user's save cannot slip a duplicate in between. Each chunk is its own short
transaction, so another user's save waits at most one chunk (tens of milliseconds) instead of the
whole import: SQLite has one writer at a time, and one transaction of 100,000 rows would hold it
for many seconds (beyond the 20 s busy timeout on a loaded machine). Every party created
carries the import in ``source_import``: if a chunk fails, or the worker dies (the job's lease
expires and the periodic sweep resumes it), what the import created is deleted before the import is
marked failed or started again; so at the end either every accepted row is in, or none. The price
is that others may see the first parties of an import while it runs. A contacts import records
each contact it creates (``ImportedContact``) and undoes them the same way. In update mode,
the rows that update a record go through the services (their checks, version and audit row) in the
chunk's transaction; a failed import deletes what it created but keeps the updates of the chunks
already written.

Modules: ``reading`` (the file as rows), ``mapping`` (columns to fields), ``checking`` (party rows,
the dry run), ``contacts`` (contact rows, which name their party by code or VAT number),
``finding`` (existing parties by key), ``report``, ``writing`` and ``steps`` (the worker's jobs).
"""

from .checking import Checker, checker_for, dry_run, dry_run_rows
from .contacts import ContactChecker
from .mapping import CONTACT_FIELDS, FIELDS, REQUIRED, check_mapping, fields_for, guess_mapping, required_for
from .reading import ENCODINGS, MAX_CELL, MAX_COLUMNS, MAX_ROWS, ImportFileError, check_size, inspect, iter_rows
from .report import Report
from .steps import apply_import, check_import, create_import, read_uploaded, start_apply, start_check

__all__ = [
    "CONTACT_FIELDS",
    "ENCODINGS",
    "FIELDS",
    "MAX_CELL",
    "MAX_COLUMNS",
    "MAX_ROWS",
    "REQUIRED",
    "Checker",
    "ContactChecker",
    "ImportFileError",
    "Report",
    "apply_import",
    "check_import",
    "check_mapping",
    "check_size",
    "checker_for",
    "create_import",
    "dry_run",
    "dry_run_rows",
    "fields_for",
    "guess_mapping",
    "inspect",
    "iter_rows",
    "read_uploaded",
    "required_for",
    "start_apply",
    "start_check",
]
