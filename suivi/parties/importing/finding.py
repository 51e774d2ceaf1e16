"""Finding existing parties by their keys (code, VAT number, e-mail) for a chunk of rows, with a
few batched queries: what the duplicate checks compare with, and how a contact row finds its party."""

from django.db import connection
from django.db.models.functions import Lower

from ..models import Party


def _matching(field: str, keys: set[str], *, any_case: bool = False, **extra) -> dict[str, list[Party]]:
    """Existing parties by ``field`` for ``keys``, all of them, 500 keys at a time (exact match,
    which uses the index; ``any_case`` compares lower-cased, for e-mail addresses)."""
    found: dict[str, list[Party]] = {}
    keys_list = sorted(keys)
    for i in range(0, len(keys_list), 500):
        chunk = keys_list[i : i + 500]
        if any_case:
            rows = Party.objects.annotate(key=Lower(field)).filter(key__in=chunk, **extra)
        else:
            rows = Party.objects.filter(**{f"{field}__in": chunk}, **extra)
        for party in rows.only("name", "code", "language", field).order_by("id"):
            key = getattr(party, field)
            found.setdefault(key.casefold() if any_case else key, []).append(party)
    return found


def _owners(field: str, keys: set[str], *, any_case: bool = False, **extra) -> dict[str, Party]:
    """The first existing party by ``field`` for each of ``keys`` (see ``_matching``)."""
    return {key: parties[0] for key, parties in _matching(field, keys, any_case=any_case, **extra).items()}


def _duplicate_owners(
    codes: set[str], vats: set[str], emails: set[str]
) -> tuple[dict[str, Party], dict[str, Party], dict[str, Party]]:
    """The existing parties that hold one of ``codes`` (any party), ``vats`` or ``emails``
    (lower-cased; parties not archived), each by its key: what the duplicate checks compare with.

    PostgreSQL: one query, three index look-ups with an array parameter each (``= ANY(%s)``), instead
    of three queries whose IN lists of 500 parameters Django and psycopg spent more time building
    and parsing than the database spent answering (20 ms a chunk). SQLite has no arrays: three
    queries, 500 keys each."""
    if connection.vendor != "postgresql":
        return (
            _owners("code", codes),
            _owners("vat_number", vats, archived=False),
            _owners("email", emails, any_case=True, archived=False),
        )
    by_code: dict[str, Party] = {}
    by_vat: dict[str, Party] = {}
    by_email: dict[str, Party] = {}
    if not (codes or vats or emails):
        return by_code, by_vat, by_email
    table = connection.ops.quote_name(Party._meta.db_table)
    columns = f"id, name, code, vat_number, email FROM {table} WHERE"
    query = Party.objects.raw(
        f"SELECT 'c' AS hit, {columns} code = ANY(%s)"
        f" UNION ALL SELECT 'v', {columns} NOT archived AND vat_number = ANY(%s)"
        f" UNION ALL SELECT 'e', {columns} NOT archived AND lower(email) = ANY(%s) ORDER BY id",
        [sorted(codes), sorted(vats), sorted(emails)],
    )
    for party in query:
        hit = getattr(party, "hit")  # noqa: B009 - an extra column of the raw query
        if hit == "c":
            by_code.setdefault(party.code, party)
        elif hit == "v":
            by_vat.setdefault(party.vat_number, party)
        else:
            by_email.setdefault(party.email.casefold(), party)
    return by_code, by_vat, by_email
