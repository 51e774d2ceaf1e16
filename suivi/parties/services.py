"""Writes of parties and contacts. Every write is atomic and leaves an audit row."""

from typing import Any

from django.db import connection, transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from suivi.core import audit
from suivi.core.company import company_settings
from suivi.core.errors import InvalidInput as InvalidValues
from suivi.core.errors import PermissionDenied, lock_for_update

from .keywords import refresh_keywords
from .models import Affiliation, Contact, Party
from .validation import clean_contact, clean_party

PARTY_CODES_LOCK = 7_402_001  # PostgreSQL advisory lock: one transaction at a time takes automatic codes


def lock_party_codes() -> None:
    """Until the transaction ends, no other one takes automatic codes (PostgreSQL; SQLite has one
    writer at a time anyway). The import takes it too, so that a save beside it never gets a code
    the import is about to write."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [PARTY_CODES_LOCK])


def next_party_code() -> str:
    """The next free automatic code (P000001, P000002…)."""
    lock_party_codes()
    last = Party.objects.filter(code__regex=r"^P[0-9]{6}$").aggregate(m=Max("code"))["m"]
    number = int(last[1:]) + 1 if last else 1
    return f"P{number:06d}"


def _locked(model, obj, expected_version: int | str | None):
    return lock_for_update(
        model,
        obj.pk,
        expected_version,
        _(
            "%(name)s was changed by someone else while you were editing it. Your changes were "
            "not saved: reload to see theirs, then make yours again."
        )
        % {"name": obj},
    )


def _country(default_country: str | None) -> str:
    """Numbers without a country prefix are read in the company's country unless told otherwise."""
    return default_country or company_settings().country or "BE"


@transaction.atomic
def create_party(*, acting_user, values: dict[str, Any], categories=(), default_country: str | None = None) -> Party:
    values, errors = clean_party({"name": "", **values}, default_country=_country(default_country))
    if errors:
        raise InvalidValues(errors)
    if not values.get("code"):
        values["code"] = next_party_code()
    party = Party(**values)
    party.save()
    if categories:
        party.categories.set(categories)
    refresh_keywords([party])
    audit.record(acting_user, "create", party)
    return party


@transaction.atomic
def update_party(
    *, acting_user, party: Party, values: dict[str, Any], categories=None, expected_version: int | str | None
) -> Party:
    party = _locked(Party, party, expected_version)
    values, errors = clean_party(values, instance=party, default_country=_country(None))
    if errors:
        raise InvalidValues(errors)
    if "code" in values and not values["code"]:
        values["code"] = party.code
    changes = audit.diff(party, values)
    for name, value in values.items():
        setattr(party, name, value)
    if categories is not None:
        before = sorted(party.categories.values_list("name", flat=True))
        party.categories.set(categories)
        after = sorted(c.name for c in categories)
        if before != after:
            changes["categories"] = [before, after]
    if changes:
        party.version += 1
        party.save()
        refresh_keywords([party])
        audit.record(acting_user, "update", party, changes)
    return party


@transaction.atomic
def archive_party(*, acting_user, party: Party, archived: bool = True, expected_version: int | str | None) -> Party:
    """Archive (or restore) a party. Managers and administrators only. Parties are never
    deleted: their history stays."""
    if not getattr(acting_user, "is_manager", False):
        raise PermissionDenied(_("Only managers and administrators may archive parties."))
    party = _locked(Party, party, expected_version)
    if party.archived != archived:
        party.archived = archived
        party.version += 1
        party.save(update_fields=["archived", "version", "updated_at"])
        audit.record(acting_user, "archive" if archived else "restore", party)
    return party


@transaction.atomic
def create_contact(
    *,
    acting_user,
    values: dict[str, Any],
    party: Party | None = None,
    function: str = "",
    default_country: str | None = None,
) -> Contact:
    values, errors = clean_contact({"last_name": "", **values}, default_country=_country(default_country))
    if errors:
        raise InvalidValues(errors)
    contact = Contact(**values)
    contact.save()
    if party is not None:
        Affiliation.objects.create(party=party, contact=contact, function=function[:100])
    audit.record(acting_user, "create", contact)
    return contact


@transaction.atomic
def update_contact(
    *, acting_user, contact: Contact, values: dict[str, Any], expected_version: int | str | None
) -> Contact:
    contact = _locked(Contact, contact, expected_version)
    values, errors = clean_contact(values, default_country=_country(None))
    if errors:
        raise InvalidValues(errors)
    changes = audit.diff(contact, values)
    for name, value in values.items():
        setattr(contact, name, value)
    if changes:
        contact.version += 1
        contact.save()
        audit.record(acting_user, "update", contact, changes)
    return contact


@transaction.atomic
def link_contact(
    *, acting_user, contact: Contact, party: Party, function: str = "", is_main: bool = False
) -> Affiliation:
    """Attach ``contact`` to ``party`` with a function there (or update that function)."""
    affiliation, created = Affiliation.objects.update_or_create(
        party=party, contact=contact, defaults={"function": function[:100], "is_main": is_main}
    )
    audit.record(
        acting_user,
        "link" if created else "update_link",
        contact,
        {"party": [None, party.name], "function": [None, function]},
    )
    return affiliation


@transaction.atomic
def unlink_contact(*, acting_user, contact: Contact, party: Party) -> None:
    deleted, _rows = Affiliation.objects.filter(party=party, contact=contact).delete()
    if deleted:
        audit.record(acting_user, "unlink", contact, {"party": [party.name, None]})


@transaction.atomic
def add_address(*, acting_user, party: Party, values: dict[str, Any]):
    from .models import Address

    address = Address.objects.create(party=party, **values)
    audit.record(acting_user, "add_address", party, {"address": [None, str(address)]})
    return address
