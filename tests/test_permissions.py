"""Who may read and write what (RELIABILITY S2): every route of a private action and of the
role-restricted screens, for its owner, another user without the right, and an anonymous
visitor. No unauthorised request succeeds; lists and the API are scoped the same way."""

import pytest
from django.test import Client
from rest_framework.test import APIClient

from suivi.activities.models import Action

from . import factories
from .conftest import logged_in, make_user
from .test_api import token_client


@pytest.fixture
def world(plain_user):
    other = make_user("other", first_name="Other")
    party = factories.party(plain_user, name="Alpha")
    secret = factories.action(plain_user, subject="Secret plan", party=party, private=True)
    return {"owner": plain_user, "other": other, "secret": secret, "party": party}


def page_routes(secret):
    return [
        ("get", f"/crm/actions/{secret.pk}/", {}),
        (
            "post",
            f"/crm/actions/{secret.pk}/",
            {
                "subject": "Hacked",
                "action_type": secret.action_type_id,
                "priority": 2,
                "followed_by": secret.followed_by_id,
            },
        ),
        ("post", f"/crm/actions/{secret.pk}/status/", {"status": "done"}),
        ("post", "/crm/actions/bulk/", {"ids": [secret.pk], "do": "close"}),
    ]


def test_a_private_action_is_out_of_reach_of_other_users_and_anonymous_visitors(world):
    secret = world["secret"]
    for who, client in (("other", logged_in(world["other"])), ("anonymous", Client())):
        for method, url, data in page_routes(secret):
            response = getattr(client, method)(url, data)
            assert response.status_code in (302, 403, 404), (who, method, url, response.status_code)
            if who == "anonymous":
                assert "/login/" in response["Location"]
        for url in (
            "/crm/actions/?sort=-when",
            f"/parties/{world['party'].pk}/",
            '/crm/actions/?query=subject+~+"Secret"',
        ):
            assert "Secret plan" not in client.get(url).content.decode(), (who, url)
    secret.refresh_from_db()
    assert (secret.subject, secret.status) == ("Secret plan", "todo")


def test_the_owner_and_managers_reach_the_private_action(world, manager_user):
    secret = world["secret"]
    for client in (logged_in(world["owner"]), logged_in(manager_user)):
        assert client.get(f"/crm/actions/{secret.pk}/").status_code == 200
        assert "Secret plan" in client.get("/crm/actions/?sort=-when").content.decode()


def test_the_api_scopes_private_actions_the_same_way(world):
    secret = world["secret"]
    other = token_client(world["other"])
    assert other.get(f"/api/v1/actions/{secret.pk}/").status_code == 404
    assert other.patch(f"/api/v1/actions/{secret.pk}/", {"subject": "x"}, format="json").status_code == 404
    assert all(a["id"] != secret.pk for a in other.get("/api/v1/actions/").json()["results"])
    assert APIClient().get(f"/api/v1/actions/{secret.pk}/").status_code in (401, 403)
    owner = token_client(world["owner"])
    assert owner.get(f"/api/v1/actions/{secret.pk}/").status_code == 200
    assert Action.objects.get(pk=secret.pk).subject == "Secret plan"


@pytest.mark.parametrize(
    "url, data, allowed",
    [
        ("/settings/crm/", {"crm_enabled": ""}, "admin"),
        ("/settings/action-types/", {"form-TOTAL_FORMS": 0, "form-INITIAL_FORMS": 0}, "admin"),
        ("/parties/import/", {}, "manager"),
    ],
)
def test_role_restricted_screens_refuse_users_without_the_role(plain_user, manager_user, url, data, allowed):
    refused = [logged_in(plain_user)] + ([logged_in(manager_user)] if allowed == "admin" else [])
    for client in refused:
        assert client.post(url, data).status_code == 403, url
    assert Client().post(url, data).status_code == 302  # to the login page
