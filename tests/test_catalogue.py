"""French and Dutch all the way: every string of the catalogues is translated, and no page
rendered in French or Dutch shows one of them in English."""

import html
import re
from pathlib import Path

import pytest
from django.utils import translation

from suivi.core.models import CompanySettings

from . import factories
from .conftest import logged_in

LOCALE = Path(__file__).resolve().parents[1] / "suivi" / "locale"


def entries(language):
    """(msgid, msgstr values, flags) of the live entries of a catalogue."""
    text = (LOCALE / language / "LC_MESSAGES" / "django.po").read_text()
    for block in text.split("\n\n"):
        lines = [line for line in block.splitlines() if not line.startswith("#~")]
        if not any(line.startswith("msgid ") for line in lines):
            continue
        flags = " ".join(line for line in lines if line.startswith("#,"))
        fields: dict[str, str] = {}
        current = None
        for line in lines:
            if m := re.match(r'(msgid|msgid_plural|msgstr(?:\[\d\])?) "(.*)"$', line):
                current = m.group(1)
                fields[current] = m.group(2)
            elif line.startswith('"') and current:
                fields[current] += line[1:-1]
        if fields.get("msgid"):
            yield fields["msgid"], [v for k, v in fields.items() if k.startswith("msgstr")], flags


@pytest.mark.parametrize("language", ["fr", "nl"])
def test_every_catalogue_string_is_translated(language):
    missing = [msgid for msgid, values, flags in entries(language) if "fuzzy" in flags or not all(values)]
    assert not missing, missing


@pytest.mark.parametrize("language", ["fr", "nl"])
def test_pages_in_french_and_dutch_show_no_english_catalogue_string(language, manager_user):
    CompanySettings.objects.filter(pk=1).update(opportunities_enabled=True, crm_level="full")
    party = factories.party(manager_user, name="Alpha")
    contact = factories.contact(manager_user, party=party, last_name="Peeters")
    folder = factories.folder(manager_user, name="Roof", party=party, is_opportunity=True, followed_by=manager_user)
    action = factories.action(manager_user, subject="Call", party=party, folder=folder)
    client = logged_in(manager_user)
    session = client.session
    session["suivi_language"] = language
    session.save()
    # Sentences only: short words ("Note", "E-mail") are often the same in every language.
    english = {
        msgid
        for msgid, values, _flags in entries(language)
        if " " in msgid and len(msgid) > 14 and "%" not in msgid and "{" not in msgid and values[0] != msgid
    }
    pages = [
        "/",
        "/crm/",
        "/crm/actions/?sort=-when",
        "/crm/actions/new/",
        f"/crm/actions/{action.pk}/",
        "/crm/folders/",
        f"/crm/folders/{folder.pk}/update/",
        "/crm/pipeline/",
        "/parties/",
        f"/parties/{party.pk}/",
        f"/parties/{party.pk}/update/",
        "/contacts/",
        f"/contacts/{contact.pk}/",
        "/settings/general/",
        "/settings/crm/",
        "/settings/action-types/",
        "/settings/stages/",
        "/preferences/",
        "/parties/import/",
    ]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        text = html.unescape(re.sub(r"<[^>]+>", "\n", response.content.decode()))
        shown = {msgid for msgid in english if msgid in text}
        assert not shown, (language, url, sorted(shown))
    translation.activate("en")


def french(user):
    client = logged_in(user)
    session = client.session
    session["suivi_language"] = "fr"
    session.save()
    return client


def test_history_entries_read_in_the_users_language(plain_user):
    action = factories.action(plain_user, subject="Call")
    from suivi.activities import services

    services.update_action(
        acting_user=plain_user, action=action, values={"subject": "Call back", "priority": 3}, expected_version=1
    )
    page = french(plain_user).get(f"/crm/actions/{action.pk}/").content.decode()
    history = html.unescape(page.split("data-history")[1].split("</table>")[0])
    assert "a modifié" in history and "Objet\u00a0:" in history and "Call → Call back" in history
    assert "Haute" in history or "haute" in history  # the priority by its label, not 3
    assert "update" not in history and "subject" not in history and "a créé" in history


def test_stages_are_named_in_the_users_language(plain_user):
    CompanySettings.objects.filter(pk=1).update(opportunities_enabled=True)
    from suivi.activities.models import Stage

    Stage.objects.all().delete()
    Stage.objects.create(name_fr="Proposition", name_en="Proposal", name_nl="Voorstel", position=1)
    client = french(plain_user)
    assert "<h2>Proposition</h2>" in client.get("/crm/pipeline/").content.decode()
    session = client.session
    session["suivi_language"] = "nl"
    session.save()
    assert "<h2>Voorstel</h2>" in client.get("/crm/pipeline/").content.decode()


def test_amounts_and_phone_numbers_read_as_people_write_them(plain_user):
    from decimal import Decimal

    CompanySettings.objects.filter(pk=1).update(opportunities_enabled=True)
    party = factories.party(plain_user, name="Alpha", phone="081 22 33 44")
    folder = factories.folder(
        plain_user, name="Deal", is_opportunity=True, budget=Decimal("433600"), probability=50, followed_by=plain_user
    )
    client = french(plain_user)
    assert "+32 81 22 33 44" in client.get(f"/parties/{party.pk}/").content.decode()
    page = html.unescape(client.get(f"/crm/folders/{folder.pk}/update/").content.decode())
    assert "Montant pondéré\u00a0:" in page
    assert "216\u00a0800,00 EUR" in page or "216\u202f800,00 EUR" in page
    board = html.unescape(client.get("/crm/pipeline/").content.decode())
    assert "433,600,00" not in board


def test_counts_agree_with_their_number_in_french():
    with translation.override("fr"):
        one = translation.ngettext("%(a)s row will be imported;", "%(a)s rows will be imported;", 1) % {"a": 1}
        two = translation.ngettext("%(a)s row will be imported;", "%(a)s rows will be imported;", 2) % {"a": 2}
    assert one == "1 ligne sera importée\u00a0;" and two == "2 lignes seront importées\u00a0;"
