"""Folders (S10, S11) and opportunities with the pipeline board (S6)."""

import re
from datetime import date
from decimal import Decimal

import pytest

from suivi.activities.models import Action, Folder, Stage
from suivi.activities.queries import folder_choices
from suivi.core.models import CompanySettings

from . import factories
from .conftest import logged_in, make_user


def set_options(**values):
    CompanySettings.objects.filter(pk=1).update(**values)


def test_the_folders_screen_lists_party_folders_bold_above_general_ones(user_client, plain_user):
    party = factories.party(plain_user, name="Alpha")
    factories.folder(plain_user, name="A general")
    factories.folder(plain_user, name="Z of Alpha", party=party)
    page = user_client.get("/crm/folders/").content.decode()
    rows = re.findall(r'<tr data-folder="\d+"[^>]*class="([^"]*)"[^>]*>\s*<td>([^<]+)</td>', page)
    assert rows == [("party-folder", "Z of Alpha"), ("", "A general")]
    assert 'role="menu"' in page and "data-menu-button" in page


def test_folder_pickers_offer_the_partys_folders_first_and_never_another_partys(plain_user):
    alpha, beta = factories.party(plain_user, name="Alpha"), factories.party(plain_user)
    general = factories.folder(plain_user, name="Aardvark general")
    own = factories.folder(plain_user, name="Zulu of Alpha", party=alpha)
    factories.folder(plain_user, name="Of Beta", party=beta)
    assert folder_choices(alpha.pk) == [own, general]
    assert folder_choices(None) == [general]


def test_the_new_action_form_marks_party_folders_bold(user_client, plain_user):
    alpha = factories.party(plain_user, name="Alpha")
    factories.folder(plain_user, name="Of Alpha", party=alpha)
    factories.folder(plain_user, name="General")
    page = user_client.get(f"/crm/actions/party-fields/?party={alpha.pk}").content.decode()
    assert re.search(r'class="party-folder"[^>]*>Of Alpha<', page)
    assert page.index("Of Alpha") < page.index("General")


def test_a_party_folder_is_created_in_place_from_the_action_form(user_client, plain_user):
    alpha = factories.party(plain_user, name="Alpha")
    response = user_client.post("/crm/folders/quick/", {"party": alpha.pk, "new_folder_name": "Roof works"})
    assert response.status_code == 200
    folder = Folder.objects.get(name="Roof works")
    assert folder.party == alpha
    assert re.search(rf'<option value="{folder.pk}" class="party-folder" selected>', response.content.decode())
    empty = user_client.post("/crm/folders/quick/", {"party": alpha.pk, "new_folder_name": " "})
    assert empty.status_code == 400 and "A folder needs a name" in empty.content.decode()


def test_deleting_a_folder_with_actions_asks_where_they_go(user_client, plain_user):
    folder = factories.folder(plain_user, name="Old")
    target = factories.folder(plain_user, name="New home")
    actions = [factories.action(plain_user, folder=folder) for _ in range(3)]
    page = user_client.get(f"/crm/folders/{folder.pk}/delete/").content.decode()
    assert "It holds 3 actions" in page
    refused = user_client.post(f"/crm/folders/{folder.pk}/delete/", {"version": folder.version})
    assert refused.status_code == 400 and "choose where to move them" in refused.content.decode()
    assert Folder.objects.filter(pk=folder.pk).exists()
    user_client.post(f"/crm/folders/{folder.pk}/delete/", {"actions": target.pk, "version": folder.version})
    assert not Folder.objects.filter(pk=folder.pk).exists()
    assert {a.folder_id for a in Action.objects.filter(pk__in=[a.pk for a in actions])} == {target.pk}


def test_deleting_a_folder_can_detach_its_actions(user_client, plain_user):
    folder = factories.folder(plain_user, name="Old")
    action = factories.action(plain_user, folder=folder)
    user_client.post(f"/crm/folders/{folder.pk}/delete/", {"actions": "detach", "version": folder.version})
    action.refresh_from_db()
    assert action.folder is None and Action.objects.filter(pk=action.pk).exists()


def test_opportunity_fields_appear_only_with_the_option_and_their_data_is_kept(user_client, plain_user):
    set_options(opportunities_enabled=True)
    folder = factories.folder(plain_user, name="Deal", is_opportunity=True, budget=Decimal("10000"), probability=40)
    set_options(opportunities_enabled=False)
    page = user_client.get(f"/crm/folders/{folder.pk}/update/").content.decode()
    assert 'name="budget"' not in page
    user_client.post(f"/crm/folders/{folder.pk}/update/", {"name": "Deal renamed", "version": folder.version})
    folder.refresh_from_db()
    assert folder.name == "Deal renamed" and folder.budget == Decimal("10000")
    history = user_client.get(f"/crm/folders/{folder.pk}/update/").content.decode().split("History")[-1]
    assert "Deal renamed" in history and plain_user.first_name in history
    assert user_client.get("/crm/pipeline/").status_code == 404
    set_options(opportunities_enabled=True)
    page = user_client.get(f"/crm/folders/{folder.pk}/update/").content.decode()
    assert 'name="budget"' in page and "4,000.00 EUR" in page


def test_a_probability_over_100_is_refused_with_a_precise_message(user_client):
    set_options(opportunities_enabled=True)
    response = user_client.post(
        "/crm/folders/new/", {"name": "Deal", "is_opportunity": "on", "probability": "130", "currency": "EUR"}
    )
    assert response.status_code == 400
    assert "percentage between 0 and 100" in response.content.decode()


@pytest.fixture
def board(plain_user):
    set_options(opportunities_enabled=True)
    stages = list(Stage.objects.all())
    for i in range(6):
        factories.folder(
            plain_user,
            name=f"Deal {i}",
            is_opportunity=True,
            stage=stages[i % 2],
            budget=Decimal("1000") * (i + 1),
            probability=50,
            expected_close=date(2027, 1 + i % 2, 15),
            followed_by=plain_user,
        )
    return stages


def test_the_board_shows_columns_with_totals_and_a_monthly_forecast(user_client, board):
    page = user_client.get("/crm/pipeline/").content.decode()
    first = page.split(f'data-stage="{board[0].pk}"')[1].split("</section>")[0]
    assert first.count("data-card=") == 3
    assert "9,000.00" in first and "4,500.00" in first  # 1000+3000+5000, half weighted
    forecast = page.split("data-forecast")[1]
    assert "January 2027" in forecast and "February 2027" in forecast


def test_moving_a_card_changes_its_stage_and_probability(user_client, board):
    deal = Folder.objects.get(name="Deal 0")
    response = user_client.post(f"/crm/pipeline/{deal.pk}/move/", {"stage": board[2].pk})
    assert response.status_code == 302
    deal.refresh_from_db()
    assert deal.stage == board[2] and deal.probability == board[2].default_probability


def test_only_the_follower_or_a_manager_may_move_an_opportunity(board):
    intruder = make_user("intruder")
    deal = Folder.objects.get(name="Deal 0")
    logged_in(intruder).post(f"/crm/pipeline/{deal.pk}/move/", {"stage": board[2].pk})
    deal.refresh_from_db()
    assert deal.stage == board[0]


def test_opportunity_status_follows_its_workflow(user_client, board):
    deal = Folder.objects.get(name="Deal 1")
    user_client.post(f"/crm/folders/{deal.pk}/status/", {"status": "lost", "lost_reason": "Too expensive"})
    deal.refresh_from_db()
    assert deal.status == "lost" and deal.lost_reason == "Too expensive"
    user_client.post(f"/crm/folders/{deal.pk}/status/", {"status": "won"})
    deal.refresh_from_db()
    assert deal.status == "lost"
    assert "Deal 1" not in user_client.get("/crm/pipeline/").content.decode()


def test_the_folders_screen_and_the_board_run_a_fixed_number_of_queries(user_client, board):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    # The board reads its cards with one query per stage holding some (2 of the 4 default stages).
    for url, expected in (("/crm/folders/", 5), ("/crm/pipeline/", 10)):
        with CaptureQueriesContext(connection) as queries:
            assert user_client.get(url).status_code == 200
        assert len(queries) == expected, (url, [q["sql"][:90] for q in queries])


def test_a_crowded_column_shows_the_soonest_cards_and_counts_the_rest(plain_user, board):
    from suivi.activities.queries import pipeline

    column = pipeline(plain_user, limit_per_stage=2)[0]
    assert [f.name for f in column.cards] == ["Deal 0", "Deal 2"]
    assert column.more == 1 and column.budget == Decimal("9000")


def test_the_folder_page_offers_the_next_statuses_of_an_opportunity(user_client, board):
    deal = Folder.objects.get(name="Deal 2")
    page = user_client.get(f"/crm/folders/{deal.pk}/update/").content.decode()
    buttons = re.findall(r'<button name="status" value="(\w+)"', page)
    assert buttons == ["won", "lost", "abandoned"]
    user_client.post(f"/crm/folders/{deal.pk}/status/", {"status": "won"})
    page = user_client.get(f"/crm/folders/{deal.pk}/update/").content.decode()
    assert re.findall(r'<button name="status" value="(\w+)"', page) == ["open"]


def test_the_folders_screen_pages_by_fifty(user_client, plain_user):
    for i in range(55):
        factories.folder(plain_user, name=f"F{i:02d}")
    first = user_client.get("/crm/folders/").content.decode()
    second = user_client.get("/crm/folders/?page=2").content.decode()
    assert first.count("<tr data-folder=") == 50 and second.count("<tr data-folder=") == 5
    assert "55 results" in first


def test_a_duplicate_folder_name_made_in_place_says_why_and_keeps_what_was_typed(user_client, plain_user):
    alpha = factories.party(plain_user, name="Alpha")
    factories.folder(plain_user, name="Roof", party=alpha)
    response = user_client.post("/crm/folders/quick/", {"party": alpha.pk, "new_folder_name": "roof "})
    page = response.content.decode()
    assert response.status_code == 400 and "Alpha already has a folder “roof”" in page
    assert 'value="roof"' in page
    assert Folder.objects.filter(party=alpha).count() == 1
    other = factories.party(plain_user, name="Beta")
    assert user_client.post("/crm/folders/quick/", {"party": other.pk, "new_folder_name": "Roof"}).status_code == 200


def test_the_folders_button_of_the_action_form_opens_a_new_tab(user_client):
    page = user_client.get("/crm/actions/new/").content.decode()
    assert re.search(r'<a [^>]*target="_blank"[^>]*data-open-folders', page)


def test_the_forecast_shows_won_and_lost_beside_the_open_opportunities(user_client, board):
    deal = Folder.objects.get(name="Deal 0")
    user_client.post(f"/crm/folders/{deal.pk}/status/", {"status": "won", "version": deal.version})
    lost = Folder.objects.get(name="Deal 2")
    user_client.post(f"/crm/folders/{lost.pk}/status/", {"status": "lost", "lost_reason": "Price"})
    forecast = user_client.get("/crm/pipeline/").content.decode().split("data-forecast")[1]
    january = forecast.split("January 2027")[1].split("</tr>")[0]
    assert "<td data-won>1 · 1,000.00</td>" in january and "<td data-lost>1 · 3,000.00</td>" in january


def test_board_cards_share_one_move_control(user_client, board):
    page = user_client.get("/crm/pipeline/").content.decode()
    cards = re.findall(r"<article class=\"card opportunity\".*?</article>", page, re.S)
    assert len(cards) == 6 and all("<form" not in card and "<select" not in card for card in cards)
    assert all("data-move-open" in card for card in cards)
    assert page.count('<select id="move-stage" name="stage">') == 1


def test_more_cards_of_a_column_come_after_the_first_ones(user_client, board, monkeypatch):
    from suivi.web.views import folders

    monkeypatch.setattr(folders, "CARDS_PER_STAGE", 1)
    stage = Folder.objects.get(name="Deal 0").stage
    more = user_client.get(f"/crm/pipeline/stages/{stage.pk}/?offset=1").content.decode()
    assert re.findall(r"<strong>([^<]+)</strong>", more) == ["Deal 2"]
    assert "Show more (1 left)" in more and "offset=2" in more
    last = user_client.get(f"/crm/pipeline/stages/{stage.pk}/?offset=2").content.decode()
    assert "data-more" not in last and len(re.findall(r"<strong>", last)) == 1
