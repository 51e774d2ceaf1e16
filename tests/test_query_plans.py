"""The hot lists read an index range in their display order, on both databases: the query plan of
each list query shows neither a sort of the rows (SQLite's temp B-tree, PostgreSQL's Sort node)
nor a full scan of a large table. On PostgreSQL the planner is asked to avoid both at any cost, so
a plan that still has one has no index to use (a tiny test table would otherwise be scanned)."""

from datetime import date

import pytest
from django.db import connection

from suivi.activities.queries import SORTS, ActionFilters, action_list
from suivi.parties.queries import PARTY_SORTS, ContactFilters, PartyFilters, contact_list, party_list

from . import factories
from .conftest import make_user

LARGE_TABLES = ("activities_action", "parties_party", "parties_contact")


def plan(qs) -> str:
    sql, params = qs.query.sql_with_params()
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
            return "\n".join(row[-1] for row in cursor.fetchall())
        cursor.execute("SET enable_seqscan = off; SET enable_sort = off")
        try:
            cursor.execute(f"EXPLAIN {sql}", params)
            return "\n".join(row[0] for row in cursor.fetchall())
        finally:
            cursor.execute("RESET enable_seqscan; RESET enable_sort")


def problems(text: str) -> list[str]:
    found = []
    for line in text.splitlines():
        if "TEMP B-TREE" in line or line.strip().startswith(("Sort", "->  Sort", "Incremental Sort")):
            found.append(line)
        if "Sort " in line and "->" in line:
            found.append(line)
        for table in LARGE_TABLES:
            if f"SCAN {table}" in line and "USING" not in line:  # SQLite: a scan without an index
                found.append(line)
            if f"Seq Scan on {table}" in line:
                found.append(line)
    return found


def page_of(qs, *, offset=0):
    return qs[offset : offset + 51]


@pytest.fixture
def users(db):
    return make_user("reader"), make_user("boss", role="manager")


@pytest.mark.parametrize("sort", list(PARTY_SORTS))
@pytest.mark.parametrize("offset", [0, 50_000])
@pytest.mark.parametrize("archived", [False, True])
def test_the_party_list_reads_an_index_in_every_sort(users, sort, offset, archived):
    qs = party_list(users[0], PartyFilters(sort=sort, archived=archived)).values("pk")
    text = plan(page_of(qs, offset=offset))
    assert not problems(text), text


ACTION_FILTERS = {
    "everything": {},
    "one follower": {"followed_by": "F"},
    "one follower's open actions": {"followed_by": "F", "status": "todo"},
    "one status": {"status": "todo"},
    "one party": {"party": "P"},
    "one folder": {"folder": "D"},
    "one type": {"action_type": "T"},
    "a period": {"period_from": date(2026, 1, 1), "period_to": date(2026, 3, 31)},
}


@pytest.mark.parametrize("name", list(ACTION_FILTERS))
@pytest.mark.parametrize("sort", ["-when", "when"])
@pytest.mark.parametrize("reader", [0, 1])
def test_each_filter_of_the_action_list_is_an_index_range(users, name, sort, reader):
    user = users[reader]
    party = factories.party(user)
    folder = factories.folder(user, party=party)
    action = factories.action(user, party=party, folder=folder)
    ids = {"F": user.pk, "P": party.pk, "D": folder.pk, "T": action.action_type_id}
    values = {
        key: ids.get(value, value) if isinstance(value, str) else value for key, value in ACTION_FILTERS[name].items()
    }
    qs = action_list(user, ActionFilters(**values)).order_by(*SORTS[sort]).values("pk")
    text = plan(page_of(qs))
    assert not problems(text), text


@pytest.mark.parametrize("archived", [False, True])
@pytest.mark.parametrize("offset", [0, 50_000])
def test_the_contact_list_reads_an_index(users, archived, offset):
    qs = contact_list(users[0], ContactFilters(archived=archived)).values("pk")
    text = plan(page_of(qs, offset=offset))
    assert not problems(text), text


def test_the_check_sees_a_sort_and_a_full_scan(db):
    """The checker itself: a list sorted by a column without index is caught on both databases."""
    from suivi.parties.models import Party

    assert problems(plan(Party.objects.order_by("notes").values("pk")[:51]))
    assert problems(plan(Party.objects.filter(notes="x").values("pk")[:51]))


def test_the_board_reads_each_column_in_closing_order(users):
    from suivi.activities.models import Stage
    from suivi.activities.queries import _open_opportunities

    stage = Stage.objects.first()
    qs = _open_opportunities(None).filter(stage=stage).order_by("expected_close", "id").values("pk")[:21]
    text = plan(qs)
    assert not problems(text) and "activities_folder" in text and "Seq Scan on activities_folder" not in text, text
    assert "SCAN activities_folder\n" not in text + "\n", text


def test_the_agenda_reads_each_users_actions_by_index_ranges_whatever_the_table_holds(users):
    """The week view of several users: the followed actions are three index ranges (starts in
    the range, recurring series, long events), the ones taken part in come by primary key from
    the participants' index; the UNION's own B-tree only merges the ids found."""
    from datetime import UTC, datetime

    from suivi.agenda.queries import candidate_queries

    start, end = datetime(2027, 1, 4, tzinfo=UTC), datetime(2027, 1, 11, tzinfo=UTC)
    followed, taking_part = candidate_queries([users[0].pk, users[1].pk], start, end)
    text = plan(followed)
    if connection.vendor == "sqlite":
        searches = [line for line in text.splitlines() if "activities_action " in line + " "]
        assert len(searches) == 3, text
        for line, index in zip(searches, ("action_follower_when", "action_series", "action_long"), strict=True):
            assert f"INDEX {index} (followed_by_id=? AND when" in line, text
        assert "SCAN" not in plan(taking_part), plan(taking_part)
    else:
        assert "Seq Scan" not in text and "Seq Scan" not in plan(taking_part), text
