"""REST API under /api/v1/ (issue point 8)."""

import pytest
from rest_framework.test import APIClient

from suivi.core.models import CompanySettings
from suivi.parties.models import Party

from . import factories
from .conftest import PASSWORD


def token_client(user) -> APIClient:
    client = APIClient()
    response = client.post("/api/v1/auth/token", {"username": user.username, "password": PASSWORD}, format="json")
    assert response.status_code == 200
    client.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
    return client


def test_a_token_is_given_for_a_username_and_password(plain_user):
    assert token_client(plain_user).get("/api/v1/parties/").status_code == 200


def test_a_wrong_password_and_an_unknown_user_get_the_same_401(plain_user):
    client = APIClient()
    wrong = client.post("/api/v1/auth/token", {"username": "paul", "password": "x"}, format="json")
    unknown = client.post("/api/v1/auth/token", {"username": "who", "password": "x"}, format="json")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()


def test_calls_without_a_token_are_refused_with_json(db):
    response = APIClient().get("/api/v1/parties/")
    assert response.status_code in (401, 403)
    assert "detail" in response.json()


def test_create_party_errors_are_per_field_and_nothing_is_saved(plain_user):
    client = token_client(plain_user)
    response = client.post(
        "/api/v1/parties/", {"name": "X" * 201, "vat_number": "BE123", "email": "nope"}, format="json"
    )
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert "At most 200 characters" in errors["name"]
    assert "wrong number of digits" in errors["vat_number"]
    assert "e-mail" in errors["email"]
    assert not Party.objects.exists()


def test_create_read_update_and_archive_a_party(plain_user, manager_user):
    client = token_client(plain_user)
    created = client.post("/api/v1/parties/", {"name": "Api SA", "vat_number": "0403170701"}, format="json")
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["vat_number"] == "BE0403170701" and body["code"] == "P000001"
    pk = body["id"]
    updated = client.patch(f"/api/v1/parties/{pk}/", {"city": "Mons", "version": body["version"]}, format="json")
    assert updated.status_code == 200 and updated.json()["city"] == "Mons"
    stale = client.patch(f"/api/v1/parties/{pk}/", {"city": "Ath", "version": body["version"]}, format="json")
    assert stale.status_code == 409
    version = updated.json()["version"]
    assert client.delete(f"/api/v1/parties/{pk}/", HTTP_IF_MATCH=f'"{version}"').status_code == 403
    assert token_client(manager_user).delete(f"/api/v1/parties/{pk}/", HTTP_IF_MATCH=f'"{version}"').status_code == 204
    assert Party.objects.get(pk=pk).archived


def test_lists_are_paginated_and_filterable(plain_user):
    for i in range(55):
        factories.party(plain_user, name=f"Firm {i}", is_supplier=i < 5)
    client = token_client(plain_user)
    page = client.get("/api/v1/parties/").json()
    assert page["count"] == 55 and len(page["results"]) == 50 and page["next"]
    assert client.get("/api/v1/parties/?is_supplier=true").json()["count"] == 5
    assert client.get("/api/v1/parties/?q=firm+12").json()["count"] == 1


def test_an_unknown_id_answers_404(plain_user):
    assert token_client(plain_user).get("/api/v1/parties/999999/").status_code == 404
    assert token_client(plain_user).get("/api/v1/contacts/abc/").status_code == 404


def test_contacts_are_created_at_a_party(plain_user):
    party = factories.party(plain_user)
    client = token_client(plain_user)
    response = client.post(
        "/api/v1/contacts/", {"last_name": "Willems", "party": party.pk, "function": "CFO"}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["affiliations"] == [{"party": party.pk, "function": "CFO", "is_main": False}]


def test_users_are_read_only(plain_user):
    client = token_client(plain_user)
    assert client.get("/api/v1/users/").json()["count"] == 1
    assert client.post("/api/v1/users/", {"username": "x"}, format="json").status_code == 405


def test_settings_are_read_by_all_and_changed_by_administrators_only(plain_user, admin_user):
    user = token_client(plain_user)
    assert user.get("/api/v1/settings").json()["crm_enabled"] is True
    assert user.patch("/api/v1/settings", {"crm_enabled": False}, format="json").status_code == 403
    admin = token_client(admin_user)
    bad = admin.patch("/api/v1/settings", {"followed_by_expression": "nope = 1"}, format="json")
    assert bad.status_code == 400
    assert "Unknown field “nope”" in bad.json()["errors"]["followed_by_expression"]
    version = CompanySettings.objects.get().version
    ok = admin.patch(
        "/api/v1/settings", {"crm_level": "full", "mailing_delay_seconds": "0.5", "version": version}, format="json"
    )
    assert ok.status_code == 200
    assert CompanySettings.objects.get().crm_level == "full"
    negative = admin.patch("/api/v1/settings", {"mailing_delay_seconds": "-2", "version": version + 1}, format="json")
    assert negative.status_code == 400


@pytest.mark.parametrize("url", ["/api/schema/", "/api/docs/"])
def test_openapi_schema_and_docs_are_served(client, url):
    response = client.get(url)
    assert response.status_code == 200
    if url == "/api/schema/":
        assert b"openapi: 3" in response.content and b"/api/v1/parties/" in response.content
