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
    from suivi.activities import queries

    monkeypatch.setattr(queries, "COUNT_CAP", 3)
    monkeypatch.setattr(queries.capped_count, "__defaults__", (3,))
    for i in range(5):
        factories.action(plain_user, subject=f"Call {i}")
    page = user_client.get("/crm/actions/?sort=-when").content.decode()
    assert "More than 3 actions" in page


def test_a_word_typed_twice_counts_once(user_client, plain_user):
    party = factories.party(plain_user, name="Garage Lambert", city="Namur")
    factories.action(plain_user, subject="Tyres", party=party)
    page = user_client.get("/crm/actions/", {"query": "Namur namur tyres", "sort": "-when"}).content.decode()
    assert rows(page) == ["Tyres"]
