"""Actions: the form in both layouts (S4, S5), Followed by (S9), rules, list, bulk, timeline."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from suivi.activities.models import Action, ActionType
from suivi.core.errors import InvalidInput
from suivi.core.models import AuditEvent, CompanySettings

from . import factories
from .conftest import logged_in, make_user


def set_options(**values):
    CompanySettings.objects.filter(pk=1).update(**values)


def post_action(client, **values):
    data = {
        "subject": "Call about the quote",
        "action_type": ActionType.objects.first().pk,
        "priority": 2,
        "status": "todo",
        **values,
    }
    return client.post("/crm/actions/new/", {k: v for k, v in data.items() if v is not None})


def test_demo_action_types_are_installed(db):
    assert set(ActionType.objects.values_list("name_en", flat=True)) >= {
        "Call",
        "Meeting",
        "E-mail",
        "Letter",
        "Visit",
        "Task",
        "Note",
    }


def test_record_an_action_with_party_contacts_folder_and_billing(user_client, plain_user):
    set_options(crm_level="full")  # billing of actions is M2
    party = factories.party(plain_user, name="Alpha")
    marie = factories.contact(plain_user, party=party, first_name="Marie")
    folder = factories.folder(plain_user, name="Renovation", party=party)
    start = timezone.localtime().replace(second=0, microsecond=0)
    response = post_action(
        user_client,
        party=party.pk,
        contacts=[marie.pk],
        folder=folder.pk,
        followed_by=plain_user.pk,
        start=start.strftime("%Y-%m-%dT%H:%M"),
        end=(start + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
        billable="on",
        bill_quantity="1.5",
        unit_price="80",
        invoice_text="Consulting",
        description="<p>Hello <script>alert(1)</script><b>world</b></p>",
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    action = Action.objects.get()
    assert (action.party, action.folder, list(action.contacts.all())) == (party, folder, [marie])
    assert action.billable and action.bill_quantity == 1.5 and action.invoice_text == "Consulting"
    assert "<script>" not in action.description and "<b>world</b>" in action.description
    assert action.created_by == plain_user
    assert AuditEvent.objects.filter(object_type="activities.action", verb="create").exists()


def test_the_classic_layout_is_one_page_with_the_billing_group(user_client):
    set_options(action_form_layout="classic", crm_level="full")
    page = user_client.get("/crm/actions/new/").content.decode()
    assert 'data-layout="classic"' in page and 'role="tablist"' not in page
    assert "data-billing-group" in page


@pytest.mark.parametrize("billing_in_main, billing_tab", [(True, False), (False, True)])
def test_the_tabs_layout_puts_billing_where_the_setting_says(user_client, billing_in_main, billing_tab):
    set_options(action_form_layout="tabs", billing_in_main_tab=billing_in_main, crm_level="full")
    page = user_client.get("/crm/actions/new/").content.decode()
    assert 'data-layout="tabs"' in page and 'role="tablist"' in page
    for tab in ("general", "description", "history", "attachments"):
        assert f'id="tab-{tab}"' in page
    assert ('id="tab-billing"' in page) is billing_tab
    general = page.split('id="panel-general"')[1].split('id="panel-description"')[0]
    assert ("data-billing-group" in general) is billing_in_main


@pytest.fixture
def sales_team(db):
    sales = Group.objects.create(name="Sales")
    ann, bob = make_user("ann", first_name="Ann"), make_user("bob", first_name="Bob")
    ann.groups.add(sales)
    set_options(followed_by_expression='is_active = True and groups.name = "Sales"')
    return ann, bob


def followed_by_options(page):
    select = page.split('name="followed_by"')[1].split("</select>")[0]
    return re.findall(r'<option value="(\d+)"', select)


def test_followed_by_offers_exactly_the_users_of_the_expression(sales_team):
    ann, bob = sales_team
    page = logged_in(ann).get("/crm/actions/new/").content.decode()
    assert followed_by_options(page) == [str(ann.pk)]


def test_an_action_followed_by_someone_outside_the_list_still_shows_them(sales_team):
    ann, bob = sales_team
    set_options(followed_by_expression="")
    action = factories.action(bob, subject="Bob's")
    set_options(followed_by_expression='groups.name = "Sales"')
    page = logged_in(ann).get(f"/crm/actions/{action.pk}/").content.decode()
    assert sorted(followed_by_options(page)) == sorted([str(ann.pk), str(bob.pk)])
    # Saving without changing the follower is allowed.
    response = logged_in(ann).post(
        f"/crm/actions/{action.pk}/",
        {
            "subject": "Bob's, renamed",
            "action_type": action.action_type_id,
            "priority": 2,
            "followed_by": bob.pk,
            "version": action.version,
        },
    )
    assert response.status_code == 302


def test_choosing_a_follower_outside_the_list_is_refused(sales_team):
    ann, bob = sales_team
    response = post_action(logged_in(ann), followed_by=bob.pk)
    assert response.status_code == 400
    assert not Action.objects.exists()


def test_a_deactivated_user_cannot_be_given_new_actions(user_client, plain_user):
    gone = make_user("gone", first_name="Gone")
    action = factories.action(gone, subject="Old")
    gone.is_active = False
    gone.save()

    with pytest.raises(InvalidInput) as e:
        factories.action(gone, subject="New")
    assert "no longer an active user" in e.value.errors["followed_by"]
    page = user_client.get(f"/crm/actions/{action.pk}/").content.decode()
    assert str(gone.pk) in followed_by_options(page)


def test_end_before_start_contact_and_folder_of_another_party_are_refused(user_client, plain_user):
    alpha, beta = factories.party(plain_user, name="Alpha"), factories.party(plain_user, name="Beta")
    betas_contact = factories.contact(plain_user, party=beta, last_name="Wouters")
    betas_folder = factories.folder(plain_user, name="Beta stuff", party=beta)

    now = timezone.now()
    with pytest.raises(InvalidInput) as e:
        factories.action(
            plain_user,
            party=alpha,
            start=now,
            end=now - timedelta(hours=1),
            contacts=[betas_contact],
            folder=betas_folder,
        )
    errors = e.value.errors
    assert "is before the start" in errors["end"]
    assert "Wouters does not work at Alpha" in errors["contacts"]
    assert "belongs to Beta" in errors["folder"]


def test_what_was_typed_stays_when_the_action_is_refused(user_client, plain_user):
    response = post_action(
        user_client,
        subject="Keep me",
        followed_by=plain_user.pk,
        start="2026-05-02T10:00",
        end="2026-05-02T09:00",
        description="My long notes",
    )
    page = response.content.decode()
    assert response.status_code == 400
    assert 'value="Keep me"' in page and "My long notes" in page and "is before the start" in page


def test_status_follows_its_workflow(user_client, plain_user):
    action = factories.action(plain_user)
    user_client.post(f"/crm/actions/{action.pk}/status/", {"status": "done"})
    action.refresh_from_db()
    assert action.status == "done"
    from suivi.activities import services
    from suivi.core.errors import SuiviError

    with pytest.raises(SuiviError, match="cannot become"):
        services.set_action_status(acting_user=plain_user, action=action, status="cancelled")


def test_private_actions_are_hidden_from_other_users(plain_user):
    other = make_user("other")
    secret = factories.action(plain_user, subject="Secret", private=True)
    assert logged_in(other).get(f"/crm/actions/{secret.pk}/").status_code == 404
    assert "Secret" not in logged_in(other).get("/crm/actions/?sort=-when").content.decode()
    assert logged_in(plain_user).get(f"/crm/actions/{secret.pk}/").status_code == 200


@pytest.fixture
def listed(plain_user):
    alpha = factories.party(plain_user, name="Alpha", city="Namur")
    other = make_user("olga", first_name="Olga")
    base = timezone.now()
    for i in range(60):
        factories.action(
            plain_user if i % 2 else other,
            subject=f"Item {i:02d}",
            party=alpha if i % 3 == 0 else None,
            start=base - timedelta(hours=i),
        )
    return alpha, other


def test_the_action_list_filters_and_pages_with_a_fixed_number_of_queries(user_client, listed):
    alpha, other = listed
    with CaptureQueriesContext(connection) as queries:
        response = user_client.get("/crm/actions/?sort=-when")
    assert response.status_code == 200
    # session, user, settings, page ids, page rows, capped count, types, users, follower choices
    assert len(queries) == 9, [q["sql"][:80] for q in queries]
    page = response.content.decode()
    assert page.count('name="ids"') == 50 and "Item 00" in page and "Item 50" not in page
    cursor = re.search(r'after=([\w-]+)" rel="next"', page).group(1)
    second = user_client.get(f"/crm/actions/?sort=-when&after={cursor}").content.decode()
    assert "Item 50" in second and "Item 49" not in second
    assert second.count('name="ids"') == 10
    back = re.search(r'before=([\w-]+)" rel="prev"', second).group(1)
    first_again = user_client.get(f"/crm/actions/?sort=-when&before={back}").content.decode()
    assert first_again.count('name="ids"') == 50 and "Item 00" in first_again and "Item 49" in first_again
    assert 'rel="prev"' not in first_again
    only_olga = user_client.get(f"/crm/actions/?followed_by={other.pk}").content.decode()
    assert only_olga.count('name="ids"') == 30


def test_the_search_bar_takes_an_expression(user_client, listed):
    page = user_client.get('/crm/actions/?query=party.city+%3D+"Namur"').content.decode()
    assert page.count('name="ids"') == 20


def test_an_invalid_expression_says_why_and_keeps_it(user_client, listed):
    response = user_client.get('/crm/actions/?query=colour+%3D+"red"')
    assert response.status_code == 400
    page = response.content.decode()
    assert "Unknown field “colour”" in page and ">colour = &quot;red&quot;</textarea>" in page


def test_bulk_reassign_and_close(user_client, plain_user, listed):
    alpha, other = listed
    ids = list(Action.objects.filter(followed_by=other).values_list("pk", flat=True)[:5])
    user_client.post("/crm/actions/bulk/", {"ids": ids, "do": "reassign", "followed_by": plain_user.pk})
    assert Action.objects.filter(pk__in=ids, followed_by=plain_user).count() == 5
    user_client.post("/crm/actions/bulk/", {"ids": ids, "do": "close"})
    assert Action.objects.filter(pk__in=ids, status="done").count() == 5


def test_the_party_timeline_shows_its_actions_newest_first(user_client, listed):
    alpha, other = listed
    page = user_client.get(f"/parties/{alpha.pk}/").content.decode()
    timeline = page.split("data-timeline")[1]
    items = re.findall(r">(Item \d\d)</a>", timeline)
    assert items[:3] == ["Item 00", "Item 03", "Item 06"] and len(items) == 20


def test_every_crm_page_is_closed_when_the_crm_is_off(user_client, plain_user):
    action = factories.action(plain_user)
    set_options(crm_enabled=False)
    for url in ("/crm/actions/", "/crm/actions/new/", f"/crm/actions/{action.pk}/", "/crm/folders/", "/crm/pipeline/"):
        response = user_client.get(url)
        assert response.status_code == 404 and "CRM option is off" in response.content.decode()
    assert Action.objects.filter(pk=action.pk).exists()


def test_an_administrator_configures_action_types_in_three_languages(admin_client, user_client):
    page = admin_client.get("/settings/action-types/").content.decode()
    total = int(re.search(r'name="form-TOTAL_FORMS" value="(\d+)"', page).group(1))
    data = {"form-TOTAL_FORMS": total, "form-INITIAL_FORMS": total - 1}
    for i, t in enumerate(ActionType.objects.all()):
        data.update(
            {
                f"form-{i}-id": t.pk,
                f"form-{i}-name_fr": t.name_fr,
                f"form-{i}-name_en": t.name_en,
                f"form-{i}-name_nl": t.name_nl,
                f"form-{i}-colour": t.colour,
                f"form-{i}-icon": t.icon,
                f"form-{i}-default_duration": t.default_duration,
                f"form-{i}-active": "on",
                f"form-{i}-position": t.position,
                f"form-{i}-version": t.version,
            }
        )
    n = total - 1
    data.update(
        {
            f"form-{n}-name_fr": "Salon",
            f"form-{n}-name_en": "Trade fair",
            f"form-{n}-name_nl": "Beurs",
            f"form-{n}-colour": "#123456",
            f"form-{n}-icon": "*",
            f"form-{n}-default_duration": "240",
            f"form-{n}-billable_by_default": "on",
            f"form-{n}-is_calendar_item": "on",
            f"form-{n}-active": "on",
            f"form-{n}-position": "9",
        }
    )
    assert user_client.post("/settings/action-types/", data).status_code == 403
    assert admin_client.post("/settings/action-types/", data).status_code == 302
    fair = ActionType.objects.get(name_en="Trade fair")
    assert (fair.name_nl, fair.default_duration, fair.billable_by_default) == ("Beurs", 240, True)
    page = user_client.get("/crm/actions/new/").content.decode()
    assert "Trade fair" in page


def test_the_party_page_with_its_timeline_runs_a_fixed_number_of_queries(user_client, listed):
    alpha, other = listed
    with CaptureQueriesContext(connection) as queries:
        assert user_client.get(f"/parties/{alpha.pk}/").status_code == 200
    # The timeline reads its page's ids, then those rows (activities.queries._rows).
    assert len(queries) == 10, [q["sql"][:80] for q in queries]


def test_editing_an_action_shows_its_partys_contacts_and_can_clear_the_party(user_client, plain_user):
    party = factories.party(plain_user, name="Alpha")
    marie = factories.contact(plain_user, party=party, last_name="Dewit")
    action = factories.action(plain_user, party=party, contacts=[marie])
    page = user_client.get(f"/crm/actions/{action.pk}/").content.decode()
    assert re.search(rf'value="{marie.pk}"[^>]*checked', page) and 'value="Alpha"' in page
    response = user_client.post(
        f"/crm/actions/{action.pk}/",
        {
            "subject": action.subject,
            "action_type": action.action_type_id,
            "priority": 2,
            "followed_by": plain_user.pk,
            "party": "",
            "version": action.version,
        },
    )
    assert response.status_code == 302
    action.refresh_from_db()
    assert action.party is None and not action.contacts.exists()


def test_start_and_end_are_kept_to_the_minute_so_an_unchanged_form_changes_nothing(user_client, plain_user):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    start = datetime(2027, 5, 10, 14, 30, 42, 123456, tzinfo=ZoneInfo("Europe/Brussels"))
    action = factories.action(plain_user, start=start, end=start.replace(minute=45))
    assert (action.start.second, action.start.microsecond, action.end.second) == (0, 0, 0)
    page = user_client.get(f"/crm/actions/{action.pk}/").content.decode()
    assert 'value="2027-05-10T14:30"' in page


def test_an_action_of_more_than_366_days_is_refused_naming_both_dates(plain_user):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    brussels = ZoneInfo("Europe/Brussels")
    start = datetime(2026, 12, 17, 10, 0, tzinfo=brussels)
    with pytest.raises(InvalidInput) as refused:
        factories.action(plain_user, start=start, end=start.replace(year=2126))
    message = refused.value.errors["end"]
    assert "Check the year of the end" in message and "17/12/2026 10:00" in message and "17/12/2126 10:00" in message
    assert not Action.objects.exists()
    factories.action(plain_user, start=start, end=start + timedelta(days=366))  # a year (and a day) is fine


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("start", "1899-12-31T10:00"),
        ("end", "3000-01-01T10:00"),
        ("due_date", "1850-05-01"),
        ("due_date", "3001-05-01"),
    ],
)
def test_dates_outside_the_years_1900_to_2999_are_refused_on_their_field(user_client, plain_user, field, value):
    values = {"start": "2026-12-17T10:00", "end": None, field: value}
    response = post_action(user_client, followed_by=plain_user.pk, **values)
    page = response.content.decode()
    assert response.status_code == 400
    assert f"id_{field}_error" in page and "between the years 1900 and 2999" in page
    assert f'value="{value}"' in page
    assert not Action.objects.exists()


def test_a_typo_in_the_year_of_the_end_is_refused_on_the_page_in_the_users_language(user_client, plain_user):
    session = user_client.session
    session["suivi_language"] = "fr"
    session.save()
    response = post_action(
        user_client, subject="Typo", followed_by=plain_user.pk, start="2026-12-17T10:00", end="2126-12-17T11:00"
    )
    page = response.content.decode()
    assert response.status_code == 400
    assert "id_end_error" in page and "17/12/2026 10:00" in page and "17/12/2126 11:00" in page
    assert 'value="2126-12-17T11:00"' in page and 'value="Typo"' in page
    assert not Action.objects.exists()


def test_the_agendas_more_fields_link_prefills_the_start_and_the_end(user_client):
    page = user_client.get("/crm/actions/new/?start=2027-03-01T09:00&end=2027-03-01T10:30").content.decode()
    assert 'name="start" value="2027-03-01T09:00"' in page and 'name="end" value="2027-03-01T10:30"' in page


@pytest.mark.parametrize(
    "query",
    ["start=x&end=2027-13-01T10:00", "start=0001-01-01T09:00&end=", "start=2027-03-01T09:00&end=2027-02-01T09:00"],
)
def test_a_start_or_end_the_form_cannot_read_is_ignored(user_client, query):
    response = user_client.get(f"/crm/actions/new/?{query}")
    page = response.content.decode()
    assert response.status_code == 200
    assert re.search(r'<input[^>]*name="end"(?![^>]*value=)', page)
