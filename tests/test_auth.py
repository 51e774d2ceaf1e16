"""Log in and out, throttling, password change (RELIABILITY S4, S5)."""

import re

import pytest
from django.conf import settings
from django.test import Client

from .conftest import PASSWORD


def login(client, username, password):
    return client.post("/login/", {"username": username, "password": password})


def test_login_gives_a_new_session_id_and_logout_kills_the_old_cookie(plain_user):
    client = Client()
    client.get("/login/")
    before = client.cookies.get(settings.SESSION_COOKIE_NAME)
    response = login(client, "paul", PASSWORD)
    assert response.status_code == 302
    after = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert before is None or before.value != after
    assert client.get("/parties/").status_code == 200

    client.post("/logout/")
    stale = Client()
    stale.cookies[settings.SESSION_COOKIE_NAME] = after
    assert stale.get("/parties/").status_code == 302  # back to the login page


def test_wrong_password_and_unknown_user_get_the_same_answer(plain_user):
    wrong = login(Client(), "paul", "nope")
    unknown = login(Client(), "nobody", "nope")
    assert wrong.status_code == unknown.status_code == 200
    assert b"Wrong username or password" in wrong.content

    def scrub(response, name):
        return re.sub(rb"[A-Za-z0-9]{64}", b"", response.content.replace(name, b"X"))  # CSRF

    assert scrub(wrong, b"paul") == scrub(unknown, b"nobody")


def test_at_most_100_failed_attempts_per_account_are_evaluated(plain_user, monkeypatch):
    from django.contrib.auth.backends import ModelBackend

    evaluated = []
    original = ModelBackend.authenticate

    def counting(self, request, username=None, password=None, **kwargs):
        evaluated.append(username)
        return original(self, request, username=username, password=password, **kwargs)

    monkeypatch.setattr(ModelBackend, "authenticate", counting)
    client = Client()
    for _ in range(150):
        login(client, "paul", "wrong password")
    assert len(evaluated) <= 100
    # Even the right password is refused while the account is locked…
    locked = login(client, "paul", PASSWORD)
    assert locked.status_code != 302
    assert b"Too many failed attempts" in locked.content
    # …and an unknown account locked the same way answers the same.
    for _ in range(101):
        login(client, "ghost", "x")
    assert b"Too many failed attempts" in login(client, "ghost", "x").content


def test_password_change_ends_the_users_other_sessions(plain_user):
    here, elsewhere = Client(), Client()
    assert login(here, "paul", PASSWORD).status_code == 302
    assert login(elsewhere, "paul", PASSWORD).status_code == 302
    response = here.post(
        "/password/",
        {
            "old_password": PASSWORD,
            "new_password1": "an even longer secret 42",
            "new_password2": "an even longer secret 42",
        },
    )
    assert response.status_code == 302
    assert here.get("/parties/").status_code == 200
    assert elsewhere.get("/parties/").status_code == 302
    assert login(Client(), "paul", "an even longer secret 42").status_code == 302


@pytest.mark.production_hashers
def test_passwords_are_hashed_with_argon2(plain_user):
    assert plain_user.password.startswith("argon2")


def test_pages_need_a_login(client):
    for url in ("/", "/parties/", "/contacts/", "/settings/crm/", "/preferences/", "/crm/"):
        response = client.get(url)
        assert response.status_code == 302 and "/login/" in response["Location"], url
