"""The e-mailing pages (issue 11, points 1–3 and 7 as users see them; RELIABILITY M12 on the
preview): a draft made and changed through its form, the count and a sample of its recipients,
one recipient's preview in a sandboxed frame, a test to oneself, sending with a confirmation,
pause / resume / cancel, the live progress block, the recipients with their states, their export
(never a formula) and the *unknown* ones to decide about. The engine itself is
``test_mailing_engine.py``; these tests send through a real SMTP server on loopback (aiosmtpd)."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from suivi.accounts.models import Role
from suivi.core.models import CompanySettings
from suivi.mailing import mailing_sender
from suivi.mailing import mailing_services as services
from suivi.mailing.mailings import (
    Mailing,
    MailingAttachment,
    MailingOptOut,
    MailingRecipient,
    MailingStatus,
    RecipientReason,
    RecipientStatus,
)
from suivi.mailing.models import OutgoingServer, Security
from suivi.parties.models import Affiliation, Contact, Party

from . import factories
from .conftest import logged_in, make_user
from .mailservers import smtp_server  # noqa: F401  (fixture)

# --- helpers shared by the e-mailing test files --------------------------------------------------------


def delay(seconds) -> None:
    CompanySettings.objects.filter(pk=1).update(mailing_delay_seconds=Decimal(str(seconds)))


def people(count: int, *, city: str = "Namur", prefix: str = "p") -> list[Contact]:
    """``count`` contacts, each at its own party in ``city`` (bulk-made)."""
    start = Party.objects.count()
    parties = Party.objects.bulk_create(
        Party(code=f"{prefix}{start + i}", name=f"Garage {prefix}{i}", city=city, is_customer=True)
        for i in range(count)
    )
    contacts = Contact.objects.bulk_create(
        Contact(first_name="Marie", last_name=f"{prefix.upper()}{i}", email=f"{prefix}{i}@example.test")
        for i in range(count)
    )
    Affiliation.objects.bulk_create(Affiliation(party=p, contact=c) for p, c in zip(parties, contacts, strict=True))
    return contacts


def new_mailing(user, **values) -> Mailing:
    values = {
        "subject": "News for {{ party.name }}",
        "body": '<p>Hello {{ contact.first_name }},</p><p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p>',
        "selection": "expression",
        "expression": 'party.city = "Namur"',
        **values,
    }
    return services.create_mailing(acting_user=user, values=values)


def use_server(server) -> None:
    OutgoingServer.objects.update_or_create(
        pk=1,
        defaults={"host": server.host, "port": server.port, "security": Security.NONE, "from_address": "crm@acme.test"},
    )


@pytest.fixture(autouse=True)
def _loopback(settings):
    settings.SUIVI_ALLOWED_PRIVATE_HOSTS = ["127.0.0.1"]
    settings.SUIVI_BASE_URL = "https://crm.acme.test"


@pytest.fixture
def olive(db):
    delay(0)
    return make_user("olive", email="olive@acme.test", first_name="Olive", last_name="Martin")


@pytest.fixture
def client(olive):
    return logged_in(olive)


def form_data(**values) -> dict:
    return {
        "name": "Spring news",
        "subject": "News for {{ party.name }}",
        "body": "<p>Hello {{ contact.first_name }},</p>",
        "method": "send",
        "selection": "expression",
        "expression": 'party.city = "Namur"',
        **values,
    }


# --- the draft -------------------------------------------------------------------------------------------


def test_a_draft_is_made_through_its_form_and_shows_its_count_and_a_sample(client, olive):
    people(12)
    people(3, city="Liège", prefix="l")
    page = client.get("/crm/mailings/new/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "contact.first_name" in html and "unsubscribe_url" in html  # the merge fields are shown
    assert "party.city" in html  # and the selection's fields
    assert "thousands of actions" in html  # why recording actions is off by default
    response = client.post("/crm/mailings/new/", form_data(record_actions="on", reply_to="sales@acme.test"))
    assert response.status_code == 302
    mailing = Mailing.objects.get()
    assert response["Location"] == f"/crm/mailings/{mailing.pk}/"
    assert (mailing.name, mailing.author, mailing.status) == ("Spring news", olive, MailingStatus.DRAFT)
    assert mailing.record_actions and mailing.reply_to == "sales@acme.test"
    detail = client.get(response["Location"])
    text = detail.content.decode()
    assert 'data-count="12"' in text and "12 recipients" in text
    assert text.count("@example.test") >= 10 and "l0@example.test" not in text
    assert "hx-trigger" not in text.split('id="mailing-state"')[1].split(">")[0]  # a draft is not polled


def test_bad_input_is_a_400_with_every_message_and_what_was_typed_kept(client, olive):
    olive.language = "fr"
    olive.save()
    client = logged_in(olive)
    session = client.session
    session["suivi_language"] = "fr"
    session.save()
    response = client.post(
        "/crm/mailings/new/",
        form_data(subject="", expression="party.notes = 'secret'", reply_to="not an address", body="{{ x.y(}}"),
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "party.notes = &#x27;secret&#x27;" in html and "not an address" in html  # kept as typed
    errors = response.context["form"].errors
    assert set(errors) >= {"subject", "expression", "reply_to", "body"}
    assert errors["expression"][0].startswith("Champ inconnu « notes »")  # in the user's language
    assert errors["subject"] == ["Un e-mail doit avoir un objet."]
    assert not Mailing.objects.exists()


def test_the_selection_is_counted_before_saving_and_a_bad_expression_says_why_in_the_language(client, olive):
    people(4)
    answer = client.get("/crm/mailings/selection/", {"selection": "expression", "expression": 'party.city = "Namur"'})
    assert answer.status_code == 200 and 'data-count="4"' in answer.content.decode()
    bad = client.get("/crm/mailings/selection/", {"expression": "party.city = "})
    assert bad.status_code == 400 and "data-selection-error" in bad.content.decode()
    htmx = client.get("/crm/mailings/selection/", {"expression": "party.nope = 1"}, HTTP_HX_REQUEST="true")
    assert htmx.status_code == 200 and "data-selection-error" in htmx.content.decode()  # htmx swaps only 2xx
    listed = Contact.objects.filter(email__in=["p1@example.test", "p2@example.test"])
    hand = client.get(
        "/crm/mailings/selection/",
        {"selection": "list", "contact_ids": [c.pk for c in listed], "addresses": "Jean <jean@else.test>"},
    )
    assert 'data-count="3"' in hand.content.decode()
    found = client.get("/crm/mailings/contacts/", {"contact_q": "p3", "contact_ids": [listed[0].pk]})
    text = found.content.decode()
    assert "p3@example.test" in text and f'value="{listed[0].pk}" checked' in text


def test_a_hand_made_list_is_saved_from_the_ticked_contacts_and_typed_addresses(client, olive):
    contacts = people(3)
    response = client.post(
        "/crm/mailings/new/",
        form_data(
            selection="list",
            expression="",
            contact_ids=[contacts[0].pk, contacts[2].pk],
            addresses="Jean <jean@else.test>\nann@else.test",
        ),
    )
    assert response.status_code == 302
    mailing = Mailing.objects.get()
    assert mailing.contact_ids == sorted([contacts[0].pk, contacts[2].pk])
    assert mailing.addresses == ["Jean <jean@else.test>", "ann@else.test"]
    form = client.get(f"/crm/mailings/{mailing.pk}/update/").content.decode()
    assert f'value="{contacts[0].pk}" checked' in form and "ann@else.test" in form


def test_a_draft_is_changed_from_the_version_it_was_read_at(client, olive):
    people(2)
    mailing = new_mailing(olive)
    url = f"/crm/mailings/{mailing.pk}/update/"
    assert client.post(url, form_data(name="Renamed", version=mailing.version)).status_code == 302
    mailing.refresh_from_db()
    assert mailing.name == "Renamed" and mailing.version == 2
    stale = client.post(url, form_data(name="Mine", version=1))
    assert stale.status_code == 409 and "reload" in stale.content.decode().lower()
    assert client.post(url, form_data(name="Mine")).status_code == 428
    assert Mailing.objects.get().name == "Renamed"
    other = logged_in(make_user("paul"))
    assert other.get(url).status_code == 403
    assert other.get(f"/crm/mailings/{mailing.pk}/").status_code == 200  # everyone reads


def test_attachments_are_added_and_removed_on_a_draft(client, olive):
    people(1)
    mailing = new_mailing(olive)
    upload = SimpleUploadedFile("tarifs.pdf", b"%PDF-1.4 prices", content_type="application/pdf")
    response = client.post(f"/crm/mailings/{mailing.pk}/attachments/", {"file": upload})
    assert response.status_code == 302
    attachment = MailingAttachment.objects.get()
    assert attachment.name == "tarifs.pdf"
    assert "tarifs.pdf" in client.get(f"/crm/mailings/{mailing.pk}/").content.decode()
    empty = client.post(f"/crm/mailings/{mailing.pk}/attachments/", {})
    assert empty.status_code == 302 and MailingAttachment.objects.count() == 1
    big = client.post(
        f"/crm/mailings/{mailing.pk}/attachments/",
        {"file": SimpleUploadedFile("big.bin", b"x" * (services.MAX_ATTACHMENTS_BYTES + 100 * 1024))},
    )
    assert big.status_code == 302 and MailingAttachment.objects.count() == 1
    assert "at most 10 MB" in client.get(f"/crm/mailings/{mailing.pk}/").content.decode()
    removed = client.post(f"/crm/mailings/{mailing.pk}/attachments/{attachment.pk}/delete/")
    assert removed.status_code == 302 and not MailingAttachment.objects.exists()


# --- preview and test ---------------------------------------------------------------------------------------

PAYLOADS = [
    '<script>alert("name")</script>',
    '<img src=x onerror="alert(1)">',
    "{{ 7*7 }}{% for x in ().__class__.__base__.__subclasses__() %}{% endfor %}",
    '"><svg onload=alert(2)>',
]


def test_the_preview_escapes_merge_fields_and_shows_the_sanitised_mail_in_a_frame_that_runs_nothing(client, olive):
    party = factories.party(olive, name=PAYLOADS[1], city="Namur")
    contact = factories.contact(olive, party, first_name=PAYLOADS[0], last_name=PAYLOADS[3], email="x@example.test")
    mailing = new_mailing(
        olive,
        body=(
            "<p>Hi {{ contact.first_name }} of {{ party.name }}</p><script>alert(3)</script>"
            '<a href="javascript:alert(4)">x</a><p onclick="alert(5)">y</p>'
        ),
    )
    response = client.get(f"/crm/mailings/{mailing.pk}/preview/?contact={contact.pk}")
    assert response.status_code == 200
    html = response.content.decode()
    message = response.context["message"]
    assert "<script" not in message.html and "<img" not in message.html and "<svg" not in message.html
    assert "javascript:" not in message.html and "onclick" not in message.html
    assert '&lt;script&gt;alert("name")&lt;/script&gt;' in message.html  # merged as text
    frame = html.split("<iframe", 1)[1].split(">", 1)[0]
    assert 'sandbox=""' in frame and "srcdoc=" in frame
    # nothing of the payloads reaches the page's own HTML unescaped
    outside = html.replace(frame, "")
    for payload in PAYLOADS[:2] + ["<svg onload", "<script>alert(3)"]:
        assert payload not in outside
    # a template reaching outside the allow-list is refused when the draft is saved
    refused = client.post("/crm/mailings/new/", form_data(body=PAYLOADS[2]))
    assert refused.status_code == 400 and "body" in refused.context["form"].errors


def test_a_test_is_sent_to_oneself_through_the_company_server(client, olive, smtp_server):  # noqa: F811
    use_server(smtp_server)
    people(2)
    mailing = new_mailing(olive)
    response = client.post(f"/crm/mailings/{mailing.pk}/test/")
    assert response.status_code == 302
    (rcpts, message) = smtp_server.messages[0]
    assert rcpts == ["olive@acme.test"] and message["Subject"] == "[Test] News for Garage p0"
    assert "olive@acme.test" in client.get(response["Location"]).content.decode()
    assert not MailingRecipient.objects.exists() and Mailing.objects.get().status == MailingStatus.DRAFT


# --- sending ----------------------------------------------------------------------------------------------


def test_send_asks_with_the_count_then_a_second_click_sends_nothing_more(client, olive, smtp_server):  # noqa: F811
    use_server(smtp_server)
    people(5)
    MailingOptOut.objects.create(address="p4@example.test")
    mailing = new_mailing(olive)
    confirm = client.get(f"/crm/mailings/{mailing.pk}/send/")
    text = confirm.content.decode()
    assert confirm.status_code == 200 and "Send to 5 recipients" in text and "1 of them will be skipped" in text
    assert Mailing.objects.get().status == MailingStatus.DRAFT  # asking changes nothing
    sent = client.post(f"/crm/mailings/{mailing.pk}/send/", {"version": mailing.version})
    assert sent.status_code == 302 and Mailing.objects.get().status == MailingStatus.SENDING
    again = client.post(f"/crm/mailings/{mailing.pk}/send/", {"version": mailing.version})  # a double click
    assert again.status_code == 400 and Mailing.objects.get().status == MailingStatus.SENDING
    assert "already started" in again.content.decode()
    assert mailing_sender.run(mailing.pk) == mailing_sender.DONE
    assert sorted(r[0][0] for r in smtp_server.messages) == [f"p{i}@example.test" for i in range(4)]
    without_version = new_mailing(olive, name="Second")
    assert client.post(f"/crm/mailings/{without_version.pk}/send/").status_code == 428


def test_an_empty_selection_is_refused_on_the_confirmation_page(client, olive):
    mailing = new_mailing(olive, expression='party.city = "Nowhere"')
    response = client.post(f"/crm/mailings/{mailing.pk}/send/", {"version": mailing.version})
    assert response.status_code == 400 and "no recipient" in response.content.decode()
    assert Mailing.objects.get().status == MailingStatus.DRAFT


def test_the_progress_block_polls_every_two_seconds_while_sending_and_stops_when_done(client, olive, smtp_server):  # noqa: F811
    use_server(smtp_server)
    people(6)
    mailing = new_mailing(olive)
    services.start(acting_user=olive, mailing=mailing, expected_version=mailing.version)
    block = client.get(f"/crm/mailings/{mailing.pk}/progress/")
    text = block.content.decode()
    assert block.status_code == 200 and 'hx-trigger="every 2s"' in text and "data-pause" in text
    assert text.startswith('<section class="card" id="mailing-state" data-mailing-state="sending"')
    mailing_sender.run(mailing.pk)
    text = client.get(f"/crm/mailings/{mailing.pk}/progress/").content.decode()
    assert 'data-mailing-state="done"' in text and 'data-percent="100"' in text and "hx-trigger" not in text
    assert "<td data-count-sent>6</td>" in text and "<td data-count-remaining>0</td>" in text


def test_the_eta_follows_the_company_delay(client, olive):
    people(30)
    delay(2)
    mailing = new_mailing(olive)
    services.start(acting_user=olive, mailing=mailing, expected_version=mailing.version)
    worker = mailing_sender.Worker(mailing.pk, "t", None, None)
    Mailing.objects.filter(pk=mailing.pk).update(worker="t")
    worker.prepare(Mailing.objects.get(pk=mailing.pk))
    text = client.get(f"/crm/mailings/{mailing.pk}/progress/").content.decode()
    assert "about 1 min 00 s" in text and "<td data-count-remaining>30</td>" in text


def test_pause_resume_and_cancel_from_the_page(client, olive):
    people(3)
    mailing = new_mailing(olive)
    services.start(acting_user=olive, mailing=mailing, expected_version=mailing.version)
    assert client.post(f"/crm/mailings/{mailing.pk}/pause/").status_code == 302
    assert Mailing.objects.get().status == MailingStatus.PAUSED
    page = client.get(f"/crm/mailings/{mailing.pk}/").content.decode()
    assert "data-resume" in page and "data-pause" not in page
    again = client.post(f"/crm/mailings/{mailing.pk}/pause/", follow=True)
    assert "Only an e-mailing being sent or scheduled can be paused." in again.content.decode()
    assert client.post(f"/crm/mailings/{mailing.pk}/resume/").status_code == 302
    assert Mailing.objects.get().status == MailingStatus.SENDING
    other = logged_in(make_user("paul"))
    assert other.post(f"/crm/mailings/{mailing.pk}/cancel/").status_code == 403
    assert "data-cancel" not in other.get(f"/crm/mailings/{mailing.pk}/").content.decode()
    manager = logged_in(make_user("mia", Role.MANAGER))
    assert manager.post(f"/crm/mailings/{mailing.pk}/cancel/").status_code == 302
    assert Mailing.objects.get().status == MailingStatus.CANCELLED


def test_a_mailing_that_paused_itself_says_why(client, olive):
    people(1)
    mailing = new_mailing(olive)
    services.start(acting_user=olive, mailing=mailing, expected_version=mailing.version)
    Mailing.objects.filter(pk=mailing.pk).update(status="paused", pause_code="login", pause_detail="535 bad password")
    text = client.get(f"/crm/mailings/{mailing.pk}/").content.decode()
    assert "refused the login (535 bad password)" in text


# --- recipients, export, unknown --------------------------------------------------------------------------


def sent_mailing(user, server, count: int) -> Mailing:
    use_server(server)
    people(count)
    mailing = new_mailing(user)
    mailing = services.start(acting_user=user, mailing=mailing, expected_version=mailing.version)
    assert mailing_sender.run(mailing.pk) == mailing_sender.DONE
    return mailing


def test_the_recipients_list_filters_by_state_in_a_fixed_number_of_queries(client, olive, smtp_server):  # noqa: F811
    mailing = sent_mailing(olive, smtp_server, 8)
    rows = list(MailingRecipient.objects.filter(mailing=mailing).order_by("pk"))
    MailingRecipient.objects.filter(pk=rows[0].pk).update(status="failed", reason_code="refused", detail="550 no")
    MailingRecipient.objects.filter(pk=rows[1].pk).update(status="unknown", reason_code="interrupted")
    MailingRecipient.objects.filter(pk=rows[2].pk).update(status="failed", reason_code="bounced", detail="5.1.1 gone")
    url = f"/crm/mailings/{mailing.pk}/recipients/"
    page = client.get(url)
    assert page.status_code == 200 and len(page.context["page"].object_list) == 8
    failed = client.get(url, {"status": "failed"}).content.decode()
    assert "550 no" in failed and "p3@example.test" not in failed
    bounced = client.get(url, {"status": "bounced"}).content.decode()
    assert "p2@example.test" in bounced and "p0@example.test" not in bounced and "5.1.1 gone" in bounced
    unknown = client.get(url, {"status": "unknown"}).content.decode()
    assert "p1@example.test" in unknown and "data-resend" in unknown
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    people(40, prefix="q")
    more = new_mailing(olive, expression='party.city = "Namur"')
    more = services.start(acting_user=olive, mailing=more, expected_version=more.version)
    mailing_sender.run(more.pk)
    with CaptureQueriesContext(connection) as many:
        client.get(f"/crm/mailings/{more.pk}/recipients/")
    assert len(many) == len(few) <= 12


def test_the_mailing_list_shows_status_progress_and_author_in_a_fixed_number_of_queries(client, olive, smtp_server):  # noqa: F811
    sent_mailing(olive, smtp_server, 3)
    new_mailing(olive, name="Draft one")
    with CaptureQueriesContext(connection) as few:
        page = client.get("/crm/mailings/")
    text = page.content.decode()
    assert "Draft one" in text and "3 sent of 3" in text and "Olive Martin" in text
    for i in range(10):
        new_mailing(make_user(f"u{i}"), name=f"Other {i}")
    with CaptureQueriesContext(connection) as many:
        client.get("/crm/mailings/")
    assert len(many) == len(few) <= 10
    assert "E-mailings" in client.get("/crm/mail/").content.decode()  # the mail tabs lead here


def test_the_export_has_every_recipient_and_never_a_formula(client, olive, smtp_server):  # noqa: F811
    mailing = sent_mailing(olive, smtp_server, 3)
    MailingRecipient.objects.filter(mailing=mailing, address="p1@example.test").update(name="=HYPERLINK(1)")
    answer = client.get(f"/crm/mailings/{mailing.pk}/recipients.csv")
    assert answer.status_code == 200
    rows = list(csv.reader(io.StringIO(b"".join(answer.streaming_content).decode().lstrip("\ufeff")), delimiter=";"))
    assert rows[0][:2] == ["Name", "E-mail address"] and len(rows) == 4
    assert "'=HYPERLINK(1)" in [r[0] for r in rows]
    assert {r[3] for r in rows[1:]} == {"sent"}
    from openpyxl import load_workbook

    answer = client.get(f"/crm/mailings/{mailing.pk}/recipients.xlsx?status=sent")
    sheet = load_workbook(io.BytesIO(answer.content)).active
    cells = [c for row in sheet.iter_rows() for c in row]
    assert any(c.value == "=HYPERLINK(1)" for c in cells) and all(c.data_type == "s" for c in cells if c.value)
    assert client.get(f"/crm/mailings/{mailing.pk}/recipients.exe").status_code == 404


def test_unknown_recipients_are_counted_as_sent_or_sent_again(client, olive, smtp_server):  # noqa: F811
    mailing = sent_mailing(olive, smtp_server, 4)
    rows = list(MailingRecipient.objects.filter(mailing=mailing).order_by("pk"))
    for row in rows[:3]:
        MailingRecipient.objects.filter(pk=row.pk).update(status="unknown", reason_code="interrupted")
    page = client.get(f"/crm/mailings/{mailing.pk}/").content.decode()
    assert "data-unknown" in page and "3 recipients may or may not" in page
    response = client.post(
        f"/crm/mailings/{mailing.pk}/unknown/", {"do": "sent", "ids": [rows[0].pk], "back": "recipients"}
    )
    assert response["Location"].endswith("/recipients/?status=unknown")
    assert MailingRecipient.objects.get(pk=rows[0].pk).reason_code == RecipientReason.CONFIRMED
    received = len(smtp_server.messages)
    assert client.post(f"/crm/mailings/{mailing.pk}/unknown/", {"do": "resend"}).status_code == 302
    assert Mailing.objects.get().status == MailingStatus.SENDING
    mailing_sender.run(mailing.pk)
    assert len(smtp_server.messages) == received + 2  # the two left, once each
    assert MailingRecipient.objects.filter(mailing=mailing, status=RecipientStatus.SENT).count() == 4
    bad = client.post(f"/crm/mailings/{mailing.pk}/unknown/", {"do": "maybe"})
    assert bad.status_code == 302


# --- CSRF ---------------------------------------------------------------------------------------------------


def test_every_state_changing_mailing_route_refuses_a_post_without_csrf_token_but_the_unsubscribe(olive):
    people(1)
    mailing = new_mailing(olive)
    client = Client(enforce_csrf_checks=True)
    client.force_login(olive)
    for url in (
        "/crm/mailings/new/",
        f"/crm/mailings/{mailing.pk}/update/",
        f"/crm/mailings/{mailing.pk}/delete/",
        f"/crm/mailings/{mailing.pk}/test/",
        f"/crm/mailings/{mailing.pk}/send/",
        f"/crm/mailings/{mailing.pk}/pause/",
        f"/crm/mailings/{mailing.pk}/resume/",
        f"/crm/mailings/{mailing.pk}/cancel/",
        f"/crm/mailings/{mailing.pk}/unknown/",
        f"/crm/mailings/{mailing.pk}/attachments/",
        f"/crm/mailings/{mailing.pk}/attachments/1/delete/",
        f"/api/v1/mailings/{mailing.pk}/start/",
    ):
        assert client.post(url, {}).status_code == 403, url
    assert Mailing.objects.get().status == MailingStatus.DRAFT
    token = services.unsubscribe_token("p0@example.test")
    assert Client(enforce_csrf_checks=True).post(f"/u/{token}/", {"List-Unsubscribe": "One-Click"}).status_code == 200
