"""What a dry run or an import reports, and the bookkeeping every kind of row checker shares:
rows accepted (to create, to update with their changes, unchanged), rows rejected with their line
and reasons, duplicates within the file."""

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from .reading import _cut

REJECTED_KEPT = 1000  # rejected (and updated) rows listed in the report; all are counted


@dataclass
class Report:
    accepted: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)  # {line, reason}, the first ones
    created: int = 0
    rejected_count: int = 0
    # Update mode: rows that create a record, change one (the first ones listed with their
    # changes: {line, record, changes: [[field, old, new]]}), or find it as it is.
    to_create: int = 0
    to_update: int = 0
    unchanged: int = 0
    updates: list[dict[str, Any]] = field(default_factory=list)
    updated: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class Staged:
    """A row checked on its own (a dataclass), staged as a JSON list between the dry run and the
    import and read back as ``cls(*values)``."""

    def as_list(self) -> list:
        # The fields in order, as __init__ set them (``dataclasses.astuple`` deep-copies every
        # value: ten times slower).
        return list(vars(self).values())


class RowChecker:
    """Checks rows chunk by chunk and remembers what it saw, so that duplicates within the file
    are found across chunks. ``prepare`` checks each row on its own (no database) and returns
    ``staged`` objects (see ``Staged``); ``settle`` checks them against the database (a few batched
    queries a chunk) and within the file, and returns the accepted rows."""

    staged: type[Staged]

    def __init__(self, default_country: str, update: bool = False):
        self.default_country = default_country
        self.update = update
        self.seen: dict[tuple, int] = {}
        self.report = Report()

    def prepare(self, rows: Iterable[tuple[int, dict[str, str]]]) -> list:
        raise NotImplementedError

    def settle(self, checked: list) -> list:
        raise NotImplementedError

    def first_line_of(self, identity: tuple, line: int) -> int | None:
        """The line of the file that had ``identity`` before ``line``; None the first time (which
        remembers ``line`` for it)."""
        first = self.seen.setdefault(identity, line)
        return first if first != line else None

    def reject(self, line: int, reasons: list) -> None:
        self.report.rejected_count += 1
        if len(self.report.rejected) < REJECTED_KEPT:
            self.report.rejected.append({"line": line, "reason": _cut("; ".join(map(str, reasons)), 500)})

    def accept(
        self, line: int, record: str | None = None, changes: bool = False, described: Callable[[], list] | None = None
    ) -> None:
        """Count an accepted row: it creates a record (``record`` None), or finds ``record``, which
        it changes or not; ``described()`` gives the changes in words, for the first rows listed."""
        self.report.accepted += 1
        if record is None:
            self.report.to_create += 1
        elif not changes:
            self.report.unchanged += 1
        else:
            self.report.to_update += 1
            if len(self.report.updates) < REJECTED_KEPT:
                self.report.updates.append(
                    {"line": line, "record": _cut(record, 100), "changes": described() if described else []}
                )
