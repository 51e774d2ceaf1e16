"""The interface speaks French by default, and English and Dutch on request."""

import pytest
from django.test import Client


@pytest.mark.parametrize(
    "accept, expected",
    [("", "Connexion à Suivi"), ("nl-BE,nl;q=0.9", "Aanmelden bij Suivi"), ("en-GB", "Log in to Suivi")],
)
def test_the_login_page_speaks_the_browsers_language_else_french(db, settings, accept, expected):
    settings.LANGUAGE_CODE = "fr"
    headers = {"HTTP_ACCEPT_LANGUAGE": accept} if accept else {}
    assert expected in Client(**headers).get("/login/").content.decode()


def test_error_messages_of_services_are_translated(db, settings, user_client):
    session = user_client.session
    session["suivi_language"] = "fr"
    session.save()
    response = user_client.post(
        "/parties/new/", {"name": "", "country": "BE", "language": "fr", "vat_number": "BE0403170702"}
    )
    page = response.content.decode()
    assert "ses chiffres de contrôle ne correspondent pas" in page
    assert "Un tiers doit avoir un nom" in page
