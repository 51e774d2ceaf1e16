"""Browser flows of issue 11 in French: write a draft e-mailing, count its recipients, send a test
to oneself, send it with the count confirmed, pause and resume it while the progress block (polled
every 2 s) moves, and watch it reach 100 %. The worker runs in a thread, as ``suivi worker`` would
(RELIABILITY M12 too: script and template-injection payloads open no dialog in the preview)."""

import importlib
import threading
from decimal import Decimal

import pytest
from django.apps import apps
from django.db import connection
from playwright.sync_api import expect

from suivi.core.models import CompanySettings
from suivi.mailing import mailing_sender
from suivi.mailing.mailings import Mailing, MailingStatus, RecipientStatus
from suivi.mailing.models import OutgoingServer, Security

from .. import factories
from ..conftest import PASSWORD, make_user
from ..mailservers import smtp_server  # noqa: F401  (fixture)
from .conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def world(transactional_db, settings, smtp_server):  # noqa: F811
    settings.SUIVI_ALLOWED_PRIVATE_HOSTS = ["127.0.0.1"]
    settings.SUIVI_BASE_URL = "https://crm.acme.test"
    CompanySettings.objects.get_or_create(pk=1)
    CompanySettings.objects.filter(pk=1).update(mailing_delay_seconds=Decimal("1"))
    importlib.import_module("suivi.activities.migrations.0002_default_types_and_stages").create(apps, None)
    OutgoingServer.objects.update_or_create(
        pk=1,
        defaults={
            "host": "127.0.0.1",
            "port": smtp_server.port,
            "security": Security.NONE,
            "from_address": "crm@acme.test",
        },
    )
    user = make_user("olive", first_name="Olive", email="olive@acme.test")
    user.language = "fr"
    user.save()
    for n in range(6):
        party = factories.party(user, name=f"Garage {n}", city="Namur")
        factories.contact(user, party, first_name=f"Jean{n}", last_name="Dupont", email=f"jean{n}@dupont.test")
    factories.contact(user, factories.party(user, name="Ailleurs", city="Liège"), email="x@liege.test")
    return {"user": user, "smtp": smtp_server}


def worker(mailing_id: int) -> threading.Thread:
    """What the woken task does: send the e-mailing until it is done or paused."""

    def body():
        try:
            mailing_sender.run(mailing_id)
        finally:
            connection.close()

    thread = threading.Thread(target=body, daemon=True)
    thread.start()
    return thread


def test_a_draft_e_mailing_is_counted_tested_sent_paused_resumed_and_reaches_100_percent(page, world):
    log_in(page, "olive", PASSWORD)
    page.goto("/crm/mail/")
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    page.click("[data-tab=mailings]")
    page.click("[data-new-mailing]")
    page.fill("#id_name", "Nouvelles de printemps")
    page.fill("#id_subject", "Nouvelles pour {{ party.name }}")
    page.fill("#id_body", "<p>Bonjour {{ contact.first_name }},</p><p>Nos nouvelles.</p>")
    page.fill("#id_expression", 'party.city = "Namur"')
    page.click("[data-count-recipients]")
    expect(page.locator("#selection-preview [data-count]")).to_have_attribute("data-count", "6")
    page.fill("#id_expression", "party.ville = 1")  # a mistake: said in French, beside the field
    page.click("[data-count-recipients]")
    expect(page.locator("#selection-preview")).to_contain_text("Champ inconnu")
    page.fill("#id_expression", 'party.city = "Namur"')
    page.click("[data-save]")
    expect(page.locator("[data-selection] [data-count]")).to_have_attribute("data-count", "6")
    mailing = Mailing.objects.get()
    # a test to oneself
    page.click("[data-test]")
    expect(page.locator("ul.messages")).to_contain_text("olive@acme.test")
    rcpts, message = world["smtp"].messages[0]
    assert rcpts == ["olive@acme.test"] and message["Subject"] == "[Test] Nouvelles pour Garage 0"
    # send, with the count confirmed
    page.click("[data-send]")
    expect(page.locator("[data-send-confirm] [data-count]")).to_have_attribute("data-count", "6")
    page.click("[data-confirm-send]")
    expect(page.locator("#mailing-state")).to_have_attribute("data-mailing-state", "sending")
    first = worker(mailing.pk)
    expect(page.locator("[data-count-sent]")).not_to_have_text("0", timeout=10_000)  # the polled block moves
    page.click("[data-pause]")
    expect(page.locator("#mailing-state")).to_have_attribute("data-mailing-state", "paused")
    first.join(10)
    assert not first.is_alive()
    at_pause = Mailing.objects.get().recipients.filter(status=RecipientStatus.SENT).count()
    assert 1 <= at_pause < 6
    page.click("[data-resume]")
    expect(page.locator("#mailing-state")).to_have_attribute("data-mailing-state", "sending")
    second = worker(mailing.pk)
    expect(page.locator("#mailing-state")).to_have_attribute("data-percent", "100", timeout=20_000)
    expect(page.locator("#mailing-state")).to_have_attribute("data-mailing-state", "done")
    second.join(10)
    assert Mailing.objects.get().status == MailingStatus.DONE
    received = sorted(r[0][0] for r in world["smtp"].messages[1:])
    assert received == [f"jean{n}@dupont.test" for n in range(6)]  # each once
    page.click("[data-recipients]")
    expect(page.locator("[data-recipients] tbody tr[data-status=sent]")).to_have_count(6)


PAYLOADS = {
    "party": '<img src=x onerror="alert(1)">',
    "first_name": '<script>alert("prénom")</script>',
    "last_name": '"><svg onload=alert(3)>',
}


def test_script_and_template_payloads_open_no_dialog_in_the_preview(page, world):
    user = world["user"]
    party = factories.party(user, name=PAYLOADS["party"], city="Mons")
    contact = factories.contact(
        user, party, first_name=PAYLOADS["first_name"], last_name=PAYLOADS["last_name"], email="evil@example.test"
    )
    from suivi.mailing import mailing_services as services

    mailing = services.create_mailing(
        acting_user=user,
        values={
            "name": PAYLOADS["party"],
            "subject": "{{ party.name }}",
            "body": (
                "<p>Bonjour {{ contact.first_name }} {{ contact.last_name }} de {{ party.name }}</p>"
                "<script>alert(4)</script><img src=x onerror=alert(5)>"
                '<a href="javascript:alert(6)">lien</a><iframe src="javascript:alert(7)"></iframe>'
            ),
            "expression": 'party.city = "Mons"',
        },
    )
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    log_in(page, "olive", PASSWORD)
    for url in (f"/crm/mailings/{mailing.pk}/", f"/crm/mailings/{mailing.pk}/preview/?contact={contact.pk}"):
        page.goto(url)
        page.wait_for_load_state("networkidle")
    frame = page.frame_locator("iframe[data-preview-html]")
    expect(frame.locator("body")).to_contain_text('<script>alert("prénom")</script>')
    expect(frame.locator("body")).to_contain_text(PAYLOADS["party"])
    assert page.locator("iframe[data-preview-html]").get_attribute("sandbox") == ""
    expect(page.locator("[data-preview-subject]")).to_have_text(PAYLOADS["party"])
    frame.locator("a").first.click()  # a javascript: link was removed: nothing runs
    page.wait_for_timeout(500)
    page.goto("/crm/mailings/")
    page.wait_for_timeout(300)
    assert dialogs == []
