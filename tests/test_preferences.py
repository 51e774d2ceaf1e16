"""User preferences: language and sending method per user, Outlook per device (S3, S7)."""

import re

from django.test import Client

from suivi.accounts.middleware import DEVICE_COOKIE
from suivi.accounts.models import DevicePreference
from suivi.accounts.queries import effective_sending_method
from suivi.core.company import company_settings

from .conftest import PASSWORD


def browser(user):
    client = Client(HTTP_USER_AGENT="Test browser")
    client.post("/login/", {"username": user.username, "password": PASSWORD})
    return client


def outlook_checked(client) -> bool:
    page = client.get("/preferences/").content.decode()
    return bool(re.search(r'<input type="checkbox" name="send_via_outlook"[^>]* checked', page))


def save(client, **values):
    return client.post("/preferences/", {"language": "en", "sending_method": "", **values})


def test_each_device_keeps_its_own_outlook_preference(plain_user):
    laptop, office = browser(plain_user), browser(plain_user)
    assert laptop.cookies[DEVICE_COOKIE].value != office.cookies[DEVICE_COOKIE].value
    assert save(laptop, send_via_outlook="on").status_code == 302
    save(office)
    # Only the laptop differs from the default, so only the laptop is remembered.
    assert list(DevicePreference.objects.filter(user=plain_user).values_list("send_via_outlook", flat=True)) == [True]
    assert outlook_checked(laptop) and not outlook_checked(office)


def test_the_preferences_screen_shows_which_device_you_are_on(plain_user):
    client = browser(plain_user)
    save(client, send_via_outlook="on")
    page = client.get("/preferences/").content.decode()
    device = DevicePreference.objects.get(user=plain_user)
    assert device.device_id[:8] in page and "this device" in page


def test_a_tampered_device_cookie_is_replaced(plain_user):
    client = browser(plain_user)
    client.cookies[DEVICE_COOKIE] = "forged"
    response = client.get("/preferences/")
    assert response.cookies[DEVICE_COOKIE].value != "forged"


def test_the_sending_method_override_beats_the_company_default(plain_user):
    client = browser(plain_user)
    assert effective_sending_method(company_settings(), plain_user) == "send"
    save(client, sending_method="drafts")
    plain_user.refresh_from_db()
    assert effective_sending_method(company_settings(), plain_user) == "drafts"


def test_the_chosen_language_is_used_at_once_and_at_the_next_login(plain_user):
    client = browser(plain_user)
    save(client, language="fr")
    assert "Déconnexion" in client.get("/").content.decode()
    again = browser(plain_user)
    assert "Déconnexion" in again.get("/").content.decode()
    again.post("/language/", {"language": "nl", "next": "/"})
    assert "Afmelden" in again.get("/").content.decode()


def test_saving_a_new_language_says_so_in_that_language(db):
    from .conftest import logged_in, make_user

    client = logged_in(make_user("nina"))
    response = client.post("/preferences/", {"language": "nl", "sending_method": ""}, follow=True)
    assert "Voorkeuren opgeslagen" in response.content.decode()
