"""Browser flows of issue 10 in French: write a mail from a party's page to a ticked contact, see it
on the party's timeline once sent; file an inbox mail on the suggested party in one click."""

import importlib
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import pytest
from django.apps import apps
from playwright.sync_api import expect

from suivi.activities.models import Action
from suivi.core.models import CompanySettings
from suivi.mailing import inbox, sending, services
from suivi.mailing.models import IncomingMail, OutgoingMail, OutgoingServer, Security

from .. import factories
from ..conftest import PASSWORD, make_user
from ..mailservers import dovecot, smtp_server  # noqa: F401  (fixtures)
from .conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def world(transactional_db, settings, smtp_server):  # noqa: F811
    settings.SUIVI_ALLOWED_PRIVATE_HOSTS = ["127.0.0.1"]
    CompanySettings.objects.get_or_create(pk=1)
    importlib.import_module("suivi.activities.migrations.0002_default_types_and_stages").create(apps, None)
    OutgoingServer.objects.update_or_create(
        pk=1, defaults={"host": "127.0.0.1", "port": smtp_server.port, "security": Security.NONE}
    )
    user = make_user("olive", first_name="Olive", email="olive@acme.test")
    user.language = "fr"
    user.save()
    party = factories.party(user, name="Garage Dupont")
    contact = factories.contact(user, party, first_name="Jean", last_name="Dupont", email="jean@dupont.test")
    return {"user": user, "party": party, "contact": contact, "smtp": smtp_server}


def test_a_mail_written_from_a_party_reaches_its_contact_and_its_timeline(page, world):
    log_in(page, "olive", PASSWORD)
    page.goto(f"/parties/{world['party'].pk}/")
    page.click("[data-write-mail]")
    page.check(f"input[name=contact][value='{world['contact'].pk}']")
    page.fill("#id_subject", "Votre rendez-vous")
    page.fill("#id_body", "Bonjour Jean,\n\nÀ jeudi.")
    page.click("[data-compose] button.primary")
    expect(page.locator("ul.messages")).to_contain_text("Votre e-mail est en cours d’envoi")
    mail = OutgoingMail.objects.get()
    sending.deliver(mail.pk)
    page.reload()
    expect(page.locator("[data-mail-status]")).to_have_attribute("data-mail-status", "sent")
    rcpts, received = world["smtp"].messages[0]
    assert rcpts == ["jean@dupont.test"] and received["Subject"] == "Votre rendez-vous"
    page.goto(f"/parties/{world['party'].pk}/")
    expect(page.locator("body")).to_contain_text("Votre rendez-vous")


def test_an_inbox_mail_is_filed_on_the_suggested_party_in_one_click(page, world, dovecot):  # noqa: F811
    account = dovecot.add_user()
    box = services.save_mailbox(
        acting_user=world["user"],
        mailbox=None,
        values={
            "name": "Olive",
            "address": account.address,
            "imap_host": dovecot.host,
            "imap_port": dovecot.port,
            "imap_security": Security.NONE,
            "login": account.login,
            "is_default": True,
        },
        password=account.password,
    )
    message = EmailMessage()
    message["From"] = "Jean Dupont <jean@dupont.test>"
    message["To"] = account.address
    message["Subject"] = "Question sur la facture"
    message["Date"] = format_datetime(datetime(2026, 11, 30, 10, 0, tzinfo=UTC))
    message["Message-ID"] = make_msgid(domain="dupont.test")
    message.set_content("Bonjour, une question.")
    dovecot.deliver(account, bytes(message))
    inbox.read_mailbox(box.pk)
    log_in(page, "olive", PASSWORD)
    page.goto("/crm/mail/")
    page.click("text=Question sur la facture")
    page.click(f"[data-suggestion='{world['party'].pk}']")
    expect(page.locator("ul.messages")).to_be_visible()
    action = Action.objects.get()
    assert action.party == world["party"] and action.subject == "Question sur la facture"
    assert IncomingMail.objects.get().status == "filed"
    assert page.url.endswith(f"/crm/actions/{action.pk}/")
