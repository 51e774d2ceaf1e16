"""The words a party is found by in type-ahead and list search."""

from suivi.lib.text import words

from .models import Party, PartyKeyword


def party_words(party: Party) -> list[str]:
    local = party.email.split("@")[0] if party.email else ""
    texts = [party.name, party.code, party.city, party.postal_code, local]
    found = words(" ".join(texts))
    for whole in (party.code, party.email, party.vat_number):
        if whole:
            found.append(whole.casefold()[:60])
    if party.vat_number:
        found.append(party.vat_number[2:].casefold())  # found without its country prefix too
    return list(dict.fromkeys(found))


def refresh_keywords(parties: list[Party]) -> None:
    """Rewrite the keywords of ``parties`` (call inside the service's transaction)."""
    PartyKeyword.objects.filter(party__in=[p.pk for p in parties]).delete()
    PartyKeyword.objects.bulk_create(
        [PartyKeyword(party_id=p.pk, word=w) for p in parties for w in party_words(p)],
        batch_size=2000,
    )
