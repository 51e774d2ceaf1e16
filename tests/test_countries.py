"""Countries are a list: a name in French, Dutch or English is read as its code, an unknown
code is refused with a message, and forms offer the countries by name in the user's language."""

from rest_framework.test import APIClient

from suivi.parties.models import Party

from .conftest import logged_in


def api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_a_country_typed_by_name_is_stored_as_its_code(plain_user):
    for typed in ("Belgique", "België", "belgium", "be"):
        response = api(plain_user).post("/api/v1/parties/", {"name": f"Firm {typed}", "country": typed}, format="json")
        assert response.status_code == 201, response.json()
        assert response.json()["country"] == "BE"


def test_an_unknown_country_is_refused_with_a_message(plain_user):
    response = api(plain_user).post("/api/v1/parties/", {"name": "Nowhere Ltd", "country": "ZZ"}, format="json")
    assert response.status_code == 400 and "is not a country" in response.json()["errors"]["country"]
    assert not Party.objects.filter(name="Nowhere Ltd").exists()


def test_the_party_form_offers_countries_by_name_in_the_users_language(plain_user):
    client = logged_in(plain_user)
    session = client.session
    session["suivi_language"] = "nl"
    session.save()
    page = client.get("/parties/new/").content.decode()
    assert '<option value="BE"' in page and "België" in page and "Frankrijk" in page
