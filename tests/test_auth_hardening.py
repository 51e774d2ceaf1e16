"""Authentication closes every door: the settings API, password changes, deactivation, lockout."""

import pytest
from django.conf import settings
from django.test import Client
from rest_framework.test import APIClient

from suivi.accounts import services as account_services
from suivi.core.errors import PermissionDenied

from .conftest import PASSWORD, logged_in

NEW_PASSWORD = "an even longer secret 42"


def token_client(username, password=PASSWORD) -> APIClient:
    client = APIClient()
    response = client.post("/api/v1/auth/token", {"username": username, "password": password}, format="json")
    assert response.status_code == 200, response.content
    client.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
    return client


def signed_in(username, password=PASSWORD) -> Client:
    client = Client()
    response = client.post("/login/", {"username": username, "password": password})
    assert response.status_code == 302
    return client


def is_signed_in(client: Client) -> bool:
    return client.get("/parties/").status_code == 200


@pytest.mark.parametrize("method", ["get", "patch"])
def test_anonymous_callers_get_a_json_refusal_from_the_settings_api(method, db):
    response = getattr(APIClient(), method)("/api/v1/settings", {"company_name": "Taken over"}, format="json")
    assert response.status_code in (401, 403)
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["detail"]
    from suivi.core.models import CompanySettings

    assert CompanySettings.objects.get(pk=1).company_name == "Test SRL"


def test_signed_in_users_still_read_the_settings_and_only_administrators_change_them(plain_user, admin_user):
    user = token_client("paul")
    assert user.get("/api/v1/settings").status_code == 200
    assert user.patch("/api/v1/settings", {"company_name": "X"}, format="json").status_code == 403


def test_changing_ones_password_on_the_page_revokes_api_tokens_and_ends_other_sessions(plain_user):
    api = token_client("paul")
    assert api.get("/api/v1/parties/").status_code == 200
    here, elsewhere = signed_in("paul"), signed_in("paul")

    response = here.post(
        "/password/", {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert response.status_code == 302

    assert api.get("/api/v1/parties/").status_code == 401  # the old token is dead
    assert is_signed_in(here)
    assert not is_signed_in(elsewhere)
    assert token_client("paul", NEW_PASSWORD).get("/api/v1/parties/").status_code == 200


@pytest.fixture
def superuser(admin_user):
    admin_user.is_superuser = True  # as `suivi demo` / createsuperuser make the first administrator
    admin_user.save(update_fields=["is_superuser"])
    return admin_user


def test_an_administrator_resetting_a_password_in_the_admin_revokes_tokens_and_sessions(plain_user, superuser):
    admin_user = superuser
    api = token_client("paul")
    browser = signed_in("paul")
    admin = logged_in(admin_user)

    response = admin.post(
        f"/admin/accounts/user/{plain_user.pk}/password/",
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"},
    )
    assert response.status_code == 302, response.content[:2000]

    assert api.get("/api/v1/parties/").status_code == 401
    assert not is_signed_in(browser)
    assert is_signed_in(admin)  # the administrator's own session is not touched
    assert is_signed_in(signed_in("paul", NEW_PASSWORD))


def test_deactivating_a_user_revokes_tokens_and_sessions_for_good(plain_user, admin_user):
    api = token_client("paul")
    browser = signed_in("paul")
    admin = logged_in(admin_user)

    account_services.set_active(acting_user=admin_user, user=plain_user, active=False)
    assert api.get("/api/v1/parties/").status_code == 401
    assert not is_signed_in(browser)

    # Reactivated later, the user signs in again: the old token and session stay dead.
    account_services.set_active(acting_user=admin_user, user=plain_user, active=True)
    assert api.get("/api/v1/parties/").status_code == 401
    assert not is_signed_in(browser)
    assert is_signed_in(signed_in("paul"))
    assert is_signed_in(admin)


def test_deactivating_a_user_in_the_admin_goes_through_the_same_service(plain_user, superuser):
    admin_user = superuser
    api = token_client("paul")
    browser = signed_in("paul")
    admin = logged_in(admin_user)
    page = admin.get(f"/admin/accounts/user/{plain_user.pk}/change/")
    form = page.context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None and name != "password"}
    data.update(
        {
            "date_joined_0": plain_user.date_joined.strftime("%Y-%m-%d"),
            "date_joined_1": plain_user.date_joined.strftime("%H:%M:%S"),
            "groups": [],
            "user_permissions": [],
            "is_active": "",
        }
    )
    data = {k: v for k, v in data.items() if k not in ("date_joined", "last_login", "is_active")}
    response = admin.post(f"/admin/accounts/user/{plain_user.pk}/change/", data)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    plain_user.refresh_from_db()
    assert not plain_user.is_active
    account_services.set_active(acting_user=admin_user, user=plain_user, active=True)
    assert api.get("/api/v1/parties/").status_code == 401
    assert not is_signed_in(browser)


def test_only_administrators_change_another_users_password(plain_user, manager_user):
    with pytest.raises(PermissionDenied):
        account_services.change_password(acting_user=manager_user, user=plain_user, new_password=NEW_PASSWORD)
    plain_user.refresh_from_db()
    assert plain_user.check_password(PASSWORD)


@pytest.fixture
def low_lockout_limit(settings):
    settings.AXES_FAILURE_LIMIT = 3


def test_a_locked_out_account_gets_json_from_the_api(plain_user, low_lockout_limit):
    client = APIClient()
    for _ in range(3):
        client.post("/api/v1/auth/token", {"username": "paul", "password": "wrong"}, format="json")
    response = client.post("/api/v1/auth/token", {"username": "paul", "password": PASSWORD}, format="json")
    assert response.status_code == settings.AXES_HTTP_RESPONSE_CODE
    assert response["Content-Type"].startswith("application/json")
    assert "Too many failed attempts" in response.json()["detail"]
    assert "token" not in response.json()


def test_a_locked_out_account_gets_the_html_page_from_the_login_page(plain_user, low_lockout_limit):
    client = Client()
    for _ in range(3):
        client.post("/login/", {"username": "paul", "password": "wrong"})
    response = client.post("/login/", {"username": "paul", "password": PASSWORD})
    assert response["Content-Type"].startswith("text/html")
    assert b"Too many failed attempts" in response.content
    assert b"<html" in response.content
    assert not is_signed_in(client)
