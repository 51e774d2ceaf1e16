"""Writing checked rows: parties, keywords, contacts and affiliations in a few statements per
chunk (multi-row INSERTs on SQLite, COPY on PostgreSQL), updates through the services. A writer
(``PartyWriter``, ``ContactWriter``) writes the accepted rows of one chunk, in its transaction."""

import random
import time
from collections.abc import Iterator
from typing import Any, cast

from django.db import connection
from django.db.models import Max
from django.utils import timezone

from suivi.lib.text import fold

from ..keywords import party_words
from ..models import Affiliation, Contact, ImportedContact, Party, PartyImport, PartyKeyword
from .checking import Row
from .contacts import CONTACT_VALUES, ContactRow


def _free_numbers(after: int, taken: set[str]) -> Iterator[str]:
    """Automatic codes from P{after}, skipping those the file gives explicitly."""
    number = after
    while True:
        code = f"P{number:06d}"
        if code not in taken:
            yield code
        number += 1


def _last_auto_number(at_least: int) -> int:
    """The highest automatic code number in use from ``at_least`` on (an index range scan)."""
    last = Party.objects.filter(
        code__gte=f"P{at_least:06d}", code__lte="P999999", code__regex=r"^P[0-9]{6}$"
    ).aggregate(m=Max("code"))["m"]
    return int(last[1:]) if last else at_least - 1


def _commit_without_waiting() -> None:
    """PostgreSQL: the chunk's transaction commits without waiting for its WAL to reach the disk
    (``synchronous_commit`` off for this transaction only): waiting for the disk was a fifth of
    the import's time, a flush each chunk. Nothing is weakened: the WAL is written in order, so the
    import's last step, marking it applied (a normal commit), makes every chunk before it durable
    too; a crash before then loses at most the last chunks of an import still marked applying,
    which is undone and resumed as after any crash. Visibility and locks are as before."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


class _Gaps:
    """Gaps between the import's chunks in which another user's save takes the lock (SQLite).

    SQLite has one writer at a time, and a writer that finds the database locked does not queue:
    its busy handler sleeps and retries, 1, 2, 5, 10… ms apart, then every 100 ms. After each chunk
    the import pauses a few milliseconds (a writer that started waiting recently retries that
    often), and at least every ``EVERY`` seconds of writing for ``LONG`` seconds, longer than the
    busy handler's longest sleep: so a save waits at most about ``EVERY`` + one chunk + ``LONG``
    (under a second), while the import spends about a fifth of its time paused instead of as long
    as it writes. PostgreSQL locks rows, not the database: no pause there."""

    EVERY = 0.5
    LONG = 0.11

    def __init__(self) -> None:
        self.since = time.monotonic()

    def after_chunk(self) -> None:
        if connection.vendor != "sqlite":
            return
        if time.monotonic() - self.since >= self.EVERY:
            time.sleep(self.LONG)
            self.since = time.monotonic()
        else:
            time.sleep(random.uniform(0.002, 0.01))  # random: never in phase with the retries


def _write(party_import: PartyImport, rows: list[Row], codes: Iterator[str]) -> int:
    """Insert the parties of ``rows``, their keywords, contacts and affiliations: plain multi-row
    INSERTs from the checked values (no model instance a row: the ORM's per-object work was most
    of the import's time)."""
    if not rows:
        return 0
    source = Party._meta.get_field("source_import").get_db_prep_save(party_import.pk, connection)
    parties = []
    for row in rows:
        values = dict(row.party)
        if not values.get("code"):
            values["code"] = next(codes)
        values["name_key"], values["city_key"] = fold(values["name"])[:200], fold(values.get("city", ""))[:100]
        values["source_import_id"] = source
        parties.append(values)
    party_ids = _create(Party, parties)
    keywords = []
    for pk, values in zip(party_ids, parties, strict=True):
        keywords += [(pk, w) for w in party_words(cast(Party, _Values(values)))]
    _insert(PartyKeyword, ["party_id", "word"], keywords)
    _insert(
        Party.categories.through,
        ["party_id", "category_id"],
        [(pk, category) for pk, row in zip(party_ids, rows, strict=True) for category in dict.fromkeys(row.categories)],
    )
    contacts, links = [], []
    for pk, row in zip(party_ids, rows, strict=True):
        if row.contact:
            contact = dict(row.contact)
            contact["name_key"] = fold(f"{contact.get('last_name', '')} {contact.get('first_name', '')}")[:201]
            contacts.append(contact)
            links.append((pk, row.function[:100]))
    contact_ids = _create(Contact, contacts)
    _insert(
        Affiliation,
        ["party_id", "contact_id", "function", "is_main"],
        [
            (party_id, contact_id, function, False)
            for (party_id, function), contact_id in zip(links, contact_ids, strict=True)
        ],
    )
    return len(parties)


def _update(party_import: PartyImport, rows: list[Row]) -> None:
    """Update mode: apply each row's changes through the party service (its checks, its version
    and its audit row), inside the chunk's transaction. Contacts of rows that update are not
    imported."""
    from ..models import Category
    from ..services import update_party

    for row in rows:
        assert row.existing is not None
        values = {k: v for k, v in row.changes.items() if k != "categories"}
        categories = None
        if "categories" in row.changes:
            categories = list(Category.objects.filter(pk__in=row.changes["categories"]))
        update_party(
            acting_user=party_import.created_by,
            party=row.existing,
            values=values,
            categories=categories,
            expected_version=row.existing.version,
        )


class PartyWriter:
    """Writes party rows: new parties with automatic codes after the highest in use (skipping the
    codes the file gives), updates through the party service."""

    def __init__(self, party_import: PartyImport, next_number: int, explicit_codes: set[str]):
        self.party_import, self.next_number, self.explicit_codes = party_import, next_number, explicit_codes

    def write(self, rows: list[Row]) -> int:
        self.next_number = _last_auto_number(self.next_number) + 1
        codes = _free_numbers(self.next_number, self.explicit_codes)
        created = _write(self.party_import, [r for r in rows if r.existing is None], codes)
        _update(self.party_import, [r for r in rows if r.existing is not None and r.changes])
        return created


class ContactWriter:
    """Writes contact rows: new contacts with their affiliation (each recorded as the import's, so
    that a failed import deletes it), updates through the contact service."""

    def __init__(self, party_import: PartyImport):
        self.party_import = party_import

    def write(self, rows: list[ContactRow]) -> int:
        new = [r for r in rows if r.existing is None]
        contacts = []
        for row in new:
            contact = {k: row.values[k] for k in CONTACT_VALUES if k in row.values}
            contact["language"] = row.values.get("language") or row.party.language
            contact["name_key"] = fold(f"{contact.get('last_name', '')} {contact.get('first_name', '')}")[:201]
            contacts.append(contact)
        contact_ids = _create(Contact, contacts)
        _insert(
            Affiliation,
            ["party_id", "contact_id", "function", "is_main"],
            [(row.party.pk, pk, row.function or "", False) for row, pk in zip(new, contact_ids, strict=True)],
        )
        source = ImportedContact._meta.get_field("party_import").get_db_prep_save(self.party_import.pk, connection)
        _insert(ImportedContact, ["party_import_id", "contact_id"], [(source, pk) for pk in contact_ids])
        self._update([r for r in rows if r.existing is not None and r.changes])
        return len(contact_ids)

    def _update(self, rows: list[ContactRow]) -> None:
        """Each row's changes through the contact service (its checks, its version and its audit
        row); a new function through ``link_contact``, which keeps the main contact."""
        from ..services import link_contact, update_contact

        acting_user = self.party_import.created_by
        for row in rows:
            assert row.existing is not None and row.affiliation is not None
            values = {k: v for k, v in row.changes.items() if k != "function"}
            if values:
                update_contact(
                    acting_user=acting_user, contact=row.existing, values=values, expected_version=row.existing.version
                )
            if "function" in row.changes:
                link_contact(
                    acting_user=acting_user,
                    contact=row.existing,
                    party=row.party,
                    function=row.changes["function"],
                    is_main=row.affiliation.is_main,
                )


class _Values:
    """Attribute access to a dict of field values, for helpers written for model instances."""

    def __init__(self, values: dict[str, Any]):
        self.__dict__.update(values)

    def __getattr__(self, name: str) -> str:
        return ""  # a field the row does not set: blank, as the model's default


def _columns(model) -> list[tuple[str, str, Any]]:
    """(attname, quoted column, default) of the model's concrete fields but its primary key; the
    default of auto_now fields is the time of the call."""
    now = timezone.now()
    out = []
    for f in model._meta.concrete_fields:
        if f.primary_key:
            continue
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            default = now
        else:
            default = f.get_default()
        out.append((f.attname, connection.ops.quote_name(f.column), f.get_db_prep_save(default, connection)))
    return out


def _create(model, rows: list[dict[str, Any]], batch: int = 400) -> list[int]:
    """Insert ``rows`` (field values by attname; the fields they leave out take their defaults),
    one INSERT … RETURNING id a batch; the new ids in order. Values are text, numbers, booleans or
    None, as the checks leave them."""
    if not rows:
        return []
    columns = _columns(model)
    if not connection.features.can_return_rows_from_bulk_insert:  # pragma: no cover - both return
        objs = model.objects.bulk_create(
            [model(**{name: row.get(name, default) for name, _c, default in columns}) for row in rows], batch_size=500
        )
        return [obj.pk for obj in objs]
    quote = connection.ops.quote_name
    table, pk = quote(model._meta.db_table), quote(model._meta.pk.column)
    if connection.vendor == "postgresql":
        # Take the ids from the table's sequence, then COPY: a long INSERT's parameters are parsed
        # by psycopg in Python, which costs more than the database's work.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [model._meta.db_table, model._meta.pk.column, len(rows)],
            )
            new_ids = sorted(r[0] for r in cursor.fetchall())
        _copy(
            model,
            [model._meta.pk.column] + [name for name, _c, _d in columns],
            [
                (pk_value, *(row.get(name, default) for name, _c, default in columns))
                for pk_value, row in zip(new_ids, rows, strict=True)
            ],
            attnames=True,
        )
        return new_ids
    names = ", ".join(column for _n, column, _d in columns)
    one = "({})".format(", ".join(["%s"] * len(columns)))
    ids: list[int] = []
    for start in range(0, len(rows), batch):
        part = rows[start : start + batch]
        params = [row.get(name, default) for row in part for name, _c, default in columns]
        sql = f"INSERT INTO {table} ({names}) VALUES {', '.join([one] * len(part))} RETURNING {pk}"
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            returned = [r[0] for r in cursor.fetchall()]
        if connection.vendor == "sqlite":
            returned.sort()  # SQLite does not promise RETURNING's order; rowids grow in VALUES order
        ids += returned
    return ids


def _insert(model, columns: list[str], rows: list[tuple], batch: int = 500) -> None:
    """Multi-row INSERTs of many small rows (keywords, affiliations)."""
    if not rows:
        return
    if connection.vendor == "postgresql":
        _copy(model, columns, rows)
        return
    quote = connection.ops.quote_name
    head = "INSERT INTO {} ({}) VALUES ".format(quote(model._meta.db_table), ", ".join(map(quote, columns)))
    one = "({})".format(", ".join(["%s"] * len(columns)))
    with connection.cursor() as cursor:
        for start in range(0, len(rows), batch):
            part = rows[start : start + batch]
            cursor.execute(head + ", ".join([one] * len(part)), [v for row in part for v in row])


def _copy(model, columns: list[str], rows: list[tuple], attnames: bool = False) -> None:
    """PostgreSQL's COPY of ``rows`` into the model's table (``columns`` are column names, or
    attnames when ``attnames``)."""
    quote = connection.ops.quote_name
    if attnames:
        by_attname = {f.attname: f.column for f in model._meta.concrete_fields}
        columns = [by_attname[name] for name in columns]
    sql = "COPY {} ({}) FROM STDIN".format(quote(model._meta.db_table), ", ".join(map(quote, columns)))
    with connection.cursor() as cursor:
        with cursor.cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row(row)
