"""The CRM part of the API: actions and folders, behind the S1 gate."""

from django.contrib.auth.models import Group

from suivi.activities.models import Action, ActionType
from suivi.core.models import CompanySettings

from . import factories
from .conftest import make_user
from .test_api import token_client


def test_actions_are_created_and_listed(plain_user):
    client = token_client(plain_user)
    party = factories.party(plain_user)
    response = client.post(
        "/api/v1/actions/",
        {
            "subject": "Call",
            "action_type": ActionType.objects.first().pk,
            "party": party.pk,
            "followed_by": plain_user.pk,
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert client.get("/api/v1/actions/").json()["count"] == 1
    assert client.get('/api/v1/actions/?query=subject+%3D+"Call"').json()["count"] == 1
    bad = client.get("/api/v1/actions/?query=nope+%3D+1")
    assert bad.status_code == 400 and "Unknown field" in bad.json()["errors"]["query"]


def test_the_api_refuses_a_follower_outside_the_expression(plain_user):
    Group.objects.create(name="Sales").user_set.add(plain_user)
    outsider = make_user("outsider")
    CompanySettings.objects.filter(pk=1).update(followed_by_expression='groups.name = "Sales"')
    response = token_client(plain_user).post(
        "/api/v1/actions/",
        {"subject": "Call", "action_type": ActionType.objects.first().pk, "followed_by": outsider.pk},
        format="json",
    )
    assert response.status_code == 400
    assert "not among the users who may follow" in response.json()["errors"]["followed_by"]
    assert not Action.objects.exists()


def test_crm_endpoints_answer_404_with_the_reason_when_the_crm_is_off(plain_user):
    action = factories.action(plain_user)
    CompanySettings.objects.filter(pk=1).update(crm_enabled=False)
    client = token_client(plain_user)
    for url in ("/api/v1/actions/", f"/api/v1/actions/{action.pk}/", "/api/v1/folders/"):
        response = client.get(url)
        assert response.status_code == 404
        assert "CRM option is off" in response.json()["detail"]
    assert client.get("/api/v1/parties/").status_code == 200


def test_someone_elses_private_action_is_404(plain_user):
    secret = factories.action(plain_user, private=True)
    other = make_user("other")
    assert token_client(other).get(f"/api/v1/actions/{secret.pk}/").status_code == 404
    assert (
        token_client(other).patch(f"/api/v1/actions/{secret.pk}/", {"subject": "x"}, format="json").status_code == 404
    )


def test_folders_report_their_weighted_amount_and_refuse_bad_probability(plain_user):
    from suivi.core.models import CompanySettings

    CompanySettings.objects.filter(pk=1).update(opportunities_enabled=True)
    client = token_client(plain_user)
    ok = client.post(
        "/api/v1/folders/", {"name": "Deal", "is_opportunity": True, "budget": "2000", "probability": 25}, format="json"
    )
    assert ok.status_code == 201 and ok.json()["weighted_amount"] == "500.00"
    bad = client.post("/api/v1/folders/", {"name": "Deal", "probability": 150}, format="json")
    assert bad.status_code == 400 and "between 0 and 100" in bad.json()["errors"]["probability"]


def test_action_types_and_stages_are_listed_in_their_order(plain_user):
    client = token_client(plain_user)
    types = client.get("/api/v1/action-types/").json()["results"]
    assert types and {"name_fr", "name_en", "name_nl", "colour", "active"} <= set(types[0])
    stages = client.get("/api/v1/stages/").json()["results"]
    assert [s["position"] for s in stages] == sorted(s["position"] for s in stages)
    assert client.post("/api/v1/stages/", {"name": "x"}, format="json").status_code == 405


def test_page_size_is_honoured_up_to_500(plain_user):
    for i in range(12):
        factories.party(plain_user, name=f"Firm {i}")
    client = token_client(plain_user)
    assert len(client.get("/api/v1/parties/?page_size=5").json()["results"]) == 5
    assert len(client.get("/api/v1/parties/?page_size=100000").json()["results"]) == 12


def test_an_action_without_a_follower_is_followed_by_its_author(plain_user):
    client = token_client(plain_user)
    response = client.post(
        "/api/v1/actions/", {"subject": "Call", "action_type": factories.action_type().pk}, format="json"
    )
    assert response.status_code == 201, response.json()
    assert response.json()["followed_by"] == plain_user.pk


def test_the_settings_answer_with_and_without_the_trailing_slash(plain_user):
    client = token_client(plain_user)
    assert client.get("/api/v1/settings").status_code == 200
    assert client.get("/api/v1/settings/").status_code == 200


def test_the_api_and_the_forms_give_the_same_message_for_the_same_fault(plain_user, user_client):
    client = token_client(plain_user)
    cases = [
        (
            "/api/v1/parties/",
            {"city": "Namur"},
            "/parties/new/",
            {"city": "Namur", "country": "BE", "language": "fr"},
            "name",
        ),
        (
            "/api/v1/contacts/",
            {"first_name": "Jan"},
            "/contacts/new/",
            {"first_name": "Jan", "language": "fr"},
            "last_name",
        ),
        (
            "/api/v1/actions/",
            {"action_type": factories.action_type().pk},
            "/crm/actions/new/",
            {"action_type": factories.action_type().pk, "priority": 2, "status": "todo", "followed_by": plain_user.pk},
            "subject",
        ),
    ]
    for api_url, api_body, page_url, form, field in cases:
        api = client.post(api_url, api_body, format="json")
        assert api.status_code == 400, (api_url, api.json())
        message = api.json()["errors"][field]
        page = user_client.post(page_url, form)
        assert page.status_code == 400 and message in page.content.decode(), (page_url, message)
