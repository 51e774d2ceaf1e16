"""Lists count what matches only up to a cap, so the count costs the same at 200,000 rows as at
200; past the cap they say "more than", and every page can still be reached, both ways."""

import re

import pytest

from . import factories


@pytest.fixture
def small_cap(monkeypatch):
    from suivi.core import counts
    from suivi.web.views import parties

    monkeypatch.setattr(counts, "COUNT_CAP", 3)
    monkeypatch.setattr(parties, "PAGE_SIZE", 2)


def names(page):
    return re.findall(r'<a href="/parties/\d+/">([^<]+)</a>', page)


def test_past_the_cap_the_party_list_says_more_than_and_pages_on(user_client, plain_user, small_cap):
    for name in ("Alpha", "Bravo", "Charlie", "Delta", "Echo"):
        factories.party(plain_user, name=name)
    first = user_client.get("/parties/?sort=name").content.decode()
    assert "More than 3 results" in first and "Page 1<" in first and "Page 1 of" not in first
    assert names(first)[:2] == ["Alpha", "Bravo"] and "page=2" in first
    last = user_client.get("/parties/?sort=name&page=3").content.decode()
    assert names(last)[:1] == ["Echo"] and "page=4" not in last and "page=2" in last


def test_under_the_cap_the_count_is_exact(user_client, plain_user, small_cap):
    for name in ("Alpha", "Bravo"):
        factories.party(plain_user, name=name)
    page = user_client.get("/parties/?sort=name").content.decode()
    assert "2 results" in page and "Page 1 of 1" in page and "More than" not in page


def test_a_page_past_the_end_shows_the_last_one(user_client, plain_user, small_cap):
    for name in ("Alpha", "Bravo", "Charlie"):
        factories.party(plain_user, name=name)
    page = user_client.get("/parties/?sort=name&page=99").content.decode()
    assert names(page)[:1] == ["Charlie"] and "Page 2 of 2" in page
