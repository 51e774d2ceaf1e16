"""CSRF on every state-changing route (RELIABILITY S3) and stored scripts (S11)."""

import pytest
from django.test import Client

from . import factories


@pytest.fixture
def csrf_client(plain_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(plain_user)
    return client


def test_every_state_changing_route_refuses_a_post_without_csrf_token(csrf_client, plain_user):
    party = factories.party(plain_user)
    contact = factories.contact(plain_user, party=party)
    action = factories.action(plain_user, party=party)
    folder = factories.folder(plain_user, party=party)
    routes = [
        "/logout/",
        "/password/",
        "/preferences/",
        "/language/",
        "/settings/crm/",
        "/settings/action-types/",
        "/parties/new/",
        f"/parties/{party.pk}/update/",
        f"/parties/{party.pk}/archive/",
        f"/parties/{party.pk}/addresses/",
        "/parties/import/",
        "/contacts/new/",
        f"/contacts/{contact.pk}/update/",
        f"/contacts/{contact.pk}/link/",
        f"/contacts/{contact.pk}/unlink/{party.pk}/",
        "/crm/actions/new/",
        f"/crm/actions/{action.pk}/",
        f"/crm/actions/{action.pk}/status/",
        "/crm/actions/bulk/",
        "/crm/folders/new/",
        "/crm/folders/quick/",
        f"/crm/folders/{folder.pk}/update/",
        f"/crm/folders/{folder.pk}/delete/",
        f"/crm/folders/{folder.pk}/status/",
        f"/crm/pipeline/{folder.pk}/move/",
        "/api/v1/parties/",
        f"/api/v1/parties/{party.pk}/",
        "/api/v1/actions/",
        "/api/v1/settings",
    ]
    for url in routes:
        method = csrf_client.patch if url == "/api/v1/settings" else csrf_client.post
        assert method(url, {}).status_code == 403, url


def test_stored_script_payloads_are_shown_as_text(user_client, plain_user):
    payload = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    party = factories.party(plain_user, name=payload, city=payload[:90])
    factories.action(plain_user, subject=payload, party=party, description=payload)
    for url in ("/parties/", f"/parties/{party.pk}/", "/crm/actions/?sort=-when", "/parties/typeahead/?q=script"):
        page = user_client.get(url).content.decode()
        assert "<script>alert" not in page and "<img src=x" not in page, url
        assert "&lt;script&gt;" in page, url


def test_deploy_checks_pass_with_production_settings(tmp_path):
    import os
    import secrets
    import subprocess
    import sys

    env = {
        **os.environ,
        "SUIVI_HTTPS": "1",
        "SECRET_KEY": secrets.token_urlsafe(60),
        "DEBUG": "0",
        "SUIVI_VAR_DIR": str(tmp_path),
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # set for the browser tests only
    result = subprocess.run(
        [sys.executable, "-m", "suivi", "check", "--deploy", "--fail-level", "WARNING"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
