"""Search as people type it (the action list): plain words or an expression, field names in the
user's language, sortable columns, a count that stays cheap, pages both ways, and by default my
open actions, overdue first."""

import re
from datetime import timedelta

from django.utils import timezone

from . import factories
from .conftest import logged_in, make_user


def rows(page):
    return re.findall(r'<a href="/crm/actions/\d+/">([^<]+)</a>', page)


def test_plain_words_find_actions_by_subject_party_folder_and_contact(user_client, plain_user):
    namur = factories.party(plain_user, name="Garage Lambert", city="Namur")
    mons = factories.party(plain_user, name="Boulangerie Dupont", city="Mons")
    peeters = factories.contact(plain_user, party=mons, last_name="Peeters")
    roof = factories.folder(plain_user, name="Toiture 2027", party=mons)
    factories.action(plain_user, subject="Call about tyres", party=namur)
    factories.action(plain_user, subject="Quote for bread oven", party=mons, contacts=[peeters])
    factories.action(plain_user, subject="Site visit", party=mons, folder=roof)

    def search(text):
        response = user_client.get("/crm/actions/", {"query": text, "sort": "-when"})
        assert response.status_code == 200, response.content.decode()[-500:]
        return set(rows(response.content.decode()))

    assert search("Namur") == {"Call about tyres"}
    assert search("lambert") == {"Call about tyres"}
    assert search("oven") == {"Quote for bread oven"}
    assert search("peeters") == {"Quote for bread oven"}
    assert search("toiture") == {"Site visit"}
    assert search("dupont visit") == {"Site visit"}


def test_expressions_take_field_names_and_values_in_french_and_dutch(client, plain_user):
    factories.action(plain_user, subject="Open one")
    done = factories.action(plain_user, subject="Closed one")
    done.status = "done"
    done.save()
    french = logged_in(plain_user)
    session = french.session
    session["suivi_language"] = "fr"
    session.save()
    response = french.get("/crm/actions/", {"query": 'statut = "à faire"', "sort": "-when"})
    assert response.status_code == 200 and set(rows(response.content.decode())) == {"Open one"}
    for query in ('status = "gedaan"', 'onderwerp ~ "Closed"', 'status = "done"'):
        response = french.get("/crm/actions/", {"query": query, "sort": "-when"})
        assert set(rows(response.content.decode())) == {"Closed one"}, query


def test_the_list_opens_on_my_open_actions_overdue_first(user_client, plain_user):
    other = make_user("otto")
    now = timezone.now()
    factories.action(plain_user, subject="Next week", start=now + timedelta(days=7))
    factories.action(plain_user, subject="Last week", start=now - timedelta(days=7))
    factories.action(other, subject="Someone else's")
    response = user_client.get("/crm/actions/")
    assert response.status_code == 302 and "status=todo" in response["Location"]
    page = user_client.get(response["Location"]).content.decode()
    assert rows(page) == ["Last week", "Next week"]
    assert "2 actions" in page and "All actions" in page


def test_columns_sort_both_ways_and_pages_go_back(user_client, plain_user):
    for name in ("Bravo", "Alpha", "Charlie"):
        factories.action(plain_user, subject=name)
    up = user_client.get("/crm/actions/?sort=subject").content.decode()
    assert rows(up) == ["Alpha", "Bravo", "Charlie"] and 'aria-sort="ascending"' in up
    down = user_client.get("/crm/actions/?sort=-subject").content.decode()
    assert rows(down) == ["Charlie", "Bravo", "Alpha"]
    assert 'data-sort="subject"' in down and "sort=subject" in down


def test_the_count_is_capped_so_it_stays_cheap(user_client, plain_user, monkeypatch):
    from suivi.core import counts

    monkeypatch.setattr(counts, "COUNT_CAP", 3)
    for i in range(5):
        factories.action(plain_user, subject=f"Call {i}")
    page = user_client.get("/crm/actions/?sort=-when").content.decode()
    assert "More than 3 actions" in page


def test_a_word_typed_twice_counts_once(user_client, plain_user):
    party = factories.party(plain_user, name="Garage Lambert", city="Namur")
    factories.action(plain_user, subject="Tyres", party=party)
    page = user_client.get("/crm/actions/", {"query": "Namur namur tyres", "sort": "-when"}).content.decode()
    assert rows(page) == ["Tyres"]


def search(client, text):
    response = client.get("/crm/actions/", {"query": text, "sort": "-when"})
    assert response.status_code == 200, response.content.decode()[-500:]
    return set(rows(response.content.decode()))


def test_words_match_the_start_of_a_subject_word_and_follow_a_renamed_subject(user_client, plain_user):
    action = factories.action(plain_user, subject="Relance du devis toiture")
    assert search(user_client, "devi") == search(user_client, "Relance") == {"Relance du devis toiture"}
    assert search(user_client, "evis") == set()  # the start of a word, as in the party list
    assert search(user_client, "d") == set()  # one letter matches a whole word only
    from suivi.activities import services

    services.update_action(
        acting_user=plain_user, action=action, values={"subject": "Visite chantier"}, expected_version=action.version
    )
    assert search(user_client, "relance") == set()
    assert search(user_client, "chantier") == {"Visite chantier"}


def test_common_and_rare_words_find_the_same_actions(user_client, plain_user, monkeypatch):
    """A rare word is looked up by ids, a broad one checked row by row: both give the same."""
    from suivi.activities import queries

    party = factories.party(plain_user, name="Boulangerie Dupont", city="Mons")
    marie = factories.contact(plain_user, party=party, first_name="Marie", last_name="Peeters")
    folder = factories.folder(plain_user, name="Four à pain", party=party)
    factories.action(plain_user, subject="Four neuf")
    factories.action(plain_user, subject="Visit", party=party)
    factories.action(plain_user, subject="Quote", party=party, folder=folder)
    factories.action(plain_user, subject="Call", contacts=[marie], party=party)
    factories.action(plain_user, subject="Unrelated")
    expected = {
        "four": {"Four neuf", "Quote"},
        "dupont": {"Visit", "Quote", "Call"},
        "marie": {"Call"},
        "dupont four": {"Quote"},
        "zzzz": set(),
    }
    for broad_word in (10_000, 0):
        monkeypatch.setattr(queries, "BROAD_WORD", broad_word)
        assert {text: search(user_client, text) for text in expected} == expected, broad_word


def test_keywords_are_written_for_actions_recorded_before_they_existed(user_client, plain_user):
    import importlib

    from django.apps import apps

    from suivi.activities.models import ActionKeyword

    factories.action(plain_user, subject="Démo produit")
    ActionKeyword.objects.all().delete()
    assert search(user_client, "demo") == set()
    migration = importlib.import_module("suivi.activities.migrations.0007_action_keywords")
    migration.write_keywords(apps, None)
    assert search(user_client, "demo") == {"Démo produit"}


def test_a_broad_word_counts_only_a_few_pages(user_client, plain_user, monkeypatch):
    """Counting every action of a word found in most of them would read most rows: past a page
    or two the list says "more than"."""
    from suivi.activities import queries

    monkeypatch.setattr(queries, "BROAD_WORD", 2)
    monkeypatch.setattr(queries, "BROAD_COUNT_CAP", 3)
    for n in range(5):
        factories.action(plain_user, subject=f"Relance {n}")
    page = user_client.get("/crm/actions/", {"query": "relance", "sort": "-when"}).content.decode()
    assert "More than 3 actions" in page and len(rows(page)) == 5
    page = user_client.get("/crm/actions/", {"query": "relance 4", "sort": "-when"}).content.decode()
    assert rows(page) == ["Relance 4"]
