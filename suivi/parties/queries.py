"""Permission-checked reads of parties and contacts, and the list selectors pages, API and
exports share.

Every signed-in user of the company sees every party and contact (a CRM is shared); archiving and
imports need a manager. Per-record restrictions come with private actions.
"""

from dataclasses import dataclass

from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404

from suivi.lib.ids import parse_id
from suivi.lib.text import fold, words
from suivi.lib.unicode import strip_unstorable

from .models import Affiliation, Contact, Party, PartyKeyword

PARTY_SORTS = {
    "name": ("name_key", "id"),
    "-name": ("-name_key", "-id"),
    "code": ("code",),
    "-code": ("-code",),
    "city": ("city_key", "id"),
    "-city": ("-city_key", "-id"),
    "created": ("created_at", "id"),
    "-created": ("-created_at", "-id"),
}
TYPEAHEAD_LIMIT = 10
_TYPEAHEAD_CANDIDATES = 200


def access_party(user, party_id) -> Party:
    """The party ``party_id`` if ``user`` may see it; 404 otherwise."""
    if not (user and user.is_authenticated) or (pk := parse_id(party_id)) is None:
        raise Http404
    try:
        return Party.objects.select_related("sales_rep").get(pk=pk)
    except Party.DoesNotExist as e:
        raise Http404 from e


def access_contact(user, contact_id) -> Contact:
    """The contact ``contact_id`` if ``user`` may see it; 404 otherwise."""
    if not (user and user.is_authenticated) or (pk := parse_id(contact_id)) is None:
        raise Http404
    try:
        return Contact.objects.get(pk=pk)
    except Contact.DoesNotExist as e:
        raise Http404 from e


def visible_parties(user) -> QuerySet[Party]:
    if not (user and user.is_authenticated):
        return Party.objects.none()
    return Party.objects.all()


def matching_words(qs: QuerySet[Party], text: str) -> QuerySet[Party]:
    """Parties having, for each typed word, a keyword starting with it.

    A one-character word matches whole keywords only ("b" finds "B&B", not every "b…"): as a
    prefix it would select a large share of all parties and make every list search slow.
    """
    for w in words(text):
        keywords = PartyKeyword.objects.filter(word=w) if len(w) == 1 else PartyKeyword.objects.filter(word__prefix=w)
        qs = qs.filter(pk__in=keywords.values("party_id"))
    return qs


def _text(params, name: str, max_length: int) -> str:
    """A search text from ``params``: cut, trimmed, without characters no database can compare."""
    return strip_unstorable(params.get(name) or "")[:max_length].strip()


@dataclass
class PartyFilters:
    q: str = ""
    kind: str = ""  # customer / supplier / prospect
    category: int | None = None
    archived: bool = False
    city: str = ""
    sort: str = "name"

    @classmethod
    def from_params(cls, params) -> "PartyFilters":
        sort = params.get("sort", "name")
        return cls(
            q=_text(params, "q", 200),
            kind=params.get("kind", "") if params.get("kind") in {"customer", "supplier", "prospect"} else "",
            category=parse_id(params.get("category")),
            archived=params.get("archived") in {"1", "true", "on"},
            city=_text(params, "city", 100),
            sort=sort if sort in PARTY_SORTS else "name",
        )


def party_list(user, filters: PartyFilters) -> QuerySet[Party]:
    """Parties ``user`` sees, filtered and sorted as the list page, API and exports show them."""
    qs = visible_parties(user).filter(archived=filters.archived)
    if filters.kind:
        qs = qs.filter(**{f"is_{filters.kind}": True})
    if filters.category:
        qs = qs.filter(categories=filters.category)
    if filters.city:
        qs = qs.filter(city_key__prefix=fold(filters.city))
    if filters.q:
        qs = matching_words(qs, filters.q)
    return qs.order_by(*PARTY_SORTS[filters.sort])


def with_list_relations(qs: QuerySet[Party]) -> QuerySet[Party]:
    return qs.select_related("sales_rep").prefetch_related("categories")


def party_typeahead(user, text: str, limit: int = TYPEAHEAD_LIMIT) -> list[Party]:
    """Parties whose name, code, e-mail, VAT number or city starts with each typed word.

    The keyword index is read for the longest word first and capped, so a one-letter query costs
    the same as a precise one.
    """
    typed = sorted(words(text), key=len, reverse=True)
    if not typed:
        return []
    candidates = (
        PartyKeyword.objects.filter(word__prefix=typed[0])
        # No ORDER BY: the rows come in the order of the keyword index on both databases, and an
        # ORDER BY under a non-C collation would make PostgreSQL sort every match.
        .order_by()
        .values_list("party_id", flat=True)[:_TYPEAHEAD_CANDIDATES]
    )
    qs = visible_parties(user).filter(pk__in=list(candidates), archived=False)
    for w in typed[1:]:
        qs = qs.filter(pk__in=PartyKeyword.objects.filter(word__prefix=w).values("party_id"))
    return list(qs.order_by("name_key", "id")[:limit])


@dataclass
class ContactFilters:
    q: str = ""
    archived: bool = False
    party: int | None = None

    @classmethod
    def from_params(cls, params) -> "ContactFilters":
        return cls(
            q=_text(params, "q", 200),
            archived=params.get("archived") in {"1", "true", "on"},
            party=parse_id(params.get("party")),
        )


def contact_list(user, filters: ContactFilters) -> QuerySet[Contact]:
    if not (user and user.is_authenticated):
        return Contact.objects.none()
    qs = Contact.objects.filter(archived=filters.archived)
    if filters.party:
        qs = qs.filter(affiliations__party=filters.party)
    for w in words(filters.q):
        qs = qs.filter(Q(name_key__contains=w) | Q(email__istartswith=w))
    return qs.order_by("name_key", "id").prefetch_related(
        Prefetch("affiliations", queryset=Affiliation.objects.select_related("party"))
    )
