"""Composing and sending a mail (issue 10, points 2–4) against real servers on loopback: the SMTP
server (aiosmtpd) receives it; in *drafts* mode Dovecot holds it in Drafts, flagged \\Draft,
once; for desktop Outlook an .eml ready to send. Every mail is an e-mail action on the party's
timeline with its Message-ID, sender, recipients, body and attachments."""

import email
from email import policy

import pytest
from django.core import signing
from django.core.files.uploadedfile import SimpleUploadedFile

from suivi.accounts.middleware import _SALT, DEVICE_COOKIE
from suivi.accounts.models import DevicePreference
from suivi.activities.models import ActionStatus
from suivi.core.errors import InvalidInput
from suivi.core.models import CompanySettings
from suivi.mailing import jobs, sending, services
from suivi.mailing.models import Mailbox, MailRecord, MailStatus, Method, OutgoingMail, OutgoingServer, Security

from . import factories
from .conftest import logged_in, make_user
from .mailservers import dovecot, smtp_server  # noqa: F401  (fixtures)

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


@pytest.fixture(autouse=True)
def _loopback_allowed(settings):
    settings.SUIVI_ALLOWED_PRIVATE_HOSTS = ["127.0.0.1"]


@pytest.fixture
def world(db, smtp_server):  # noqa: F811
    OutgoingServer.objects.update_or_create(
        pk=1,
        defaults={
            "host": "127.0.0.1",
            "port": smtp_server.port,
            "security": Security.NONE,
            "from_address": "crm@acme.test",
        },
    )
    olive = make_user("olive", email="olive@acme.test", first_name="Olive", last_name="Martin")
    party = factories.party(olive, name="Garage Dupont")
    contact = factories.contact(olive, party, first_name="Jean", last_name="Dupont", email="jean@dupont.test")
    return {"user": olive, "party": party, "contact": contact, "smtp": smtp_server}


def send_now(mail: OutgoingMail) -> OutgoingMail:
    sending.deliver(mail.pk)
    mail.refresh_from_db()
    return mail


def test_a_mail_composed_on_a_party_reaches_the_smtp_server_and_is_an_action_on_its_timeline(world):
    client = logged_in(world["user"])
    page = client.get(f"/crm/mail/new/?party={world['party'].pk}").content.decode()
    assert "Jean Dupont" in page and "jean@dupont.test" in page
    response = client.post(
        "/crm/mail/new/",
        {
            "party": world["party"].pk,
            "contact": [world["contact"].pk],
            "to": "Compta <compta@dupont.test>",
            "subject": "Votre devis",
            "body": "Bonjour,\n\nVoici le devis.",
            "files": [SimpleUploadedFile("devis.pdf", PDF)],
        },
    )
    assert response.status_code == 302
    mail = OutgoingMail.objects.get()
    assert mail.status == MailStatus.QUEUED and mail.method == Method.SEND
    send_now(mail)
    assert mail.status == MailStatus.SENT, mail.error
    rcpts, received = world["smtp"].messages[0]
    assert sorted(rcpts) == ["compta@dupont.test", "jean@dupont.test"]
    assert received["Subject"] == "Votre devis" and received["Message-ID"] == mail.message_id
    assert "Voici le devis." in received.get_body(("plain",)).get_content()
    attached = [part for part in received.iter_attachments()]
    assert [(a.get_filename(), a.get_content()) for a in attached] == [("devis.pdf", PDF)]
    action = mail.action
    assert action.party == world["party"] and action.status == ActionStatus.DONE
    assert list(action.contacts.all()) == [world["contact"]]
    assert [a.name for a in action.attachments.all()] == ["devis.pdf"]
    record = MailRecord.objects.get(action=action)
    assert record.message_id == mail.message_id and "jean@dupont.test" in " ".join(record.recipients)
    timeline = client.get(f"/parties/{world['party'].pk}/").content.decode()
    assert "Votre devis" in timeline


def test_a_double_delivery_sends_once(world):
    mail = services.compose(acting_user=world["user"], to="a@b.test", subject="Once", body="x", party=world["party"])
    sending.deliver(mail.pk)
    sending.deliver(mail.pk)
    jobs.resume_mails()
    assert len(world["smtp"].messages) == 1


def test_header_injection_in_names_and_subject_adds_no_header(world):
    mail = services.compose(
        acting_user=world["user"],
        to='"Eve\r\nBcc: victim@evil.test" <eve@dupont.test>',
        subject="Hello\r\nBcc: victim@evil.test",
        body="x",
    )
    send_now(mail)
    rcpts, received = world["smtp"].messages[0]
    assert rcpts == ["eve@dupont.test"]
    assert received["Bcc"] is None and "\n" not in received["Subject"]
    assert received["Subject"] == "Hello Bcc: victim@evil.test"


def test_bad_recipients_and_an_empty_subject_are_refused_together_and_nothing_is_recorded(world):
    with pytest.raises(InvalidInput) as refused:
        services.compose(acting_user=world["user"], to="not an address, b@", subject=" ", body="x")
    assert set(refused.value.errors) == {"to", "subject"} and "not an address" in refused.value.errors["to"]
    assert not OutgoingMail.objects.exists()
    client = logged_in(world["user"])
    response = client.post("/crm/mail/new/", {"to": "nobody", "subject": "Kept", "body": "What I typed"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "What I typed" in page and "Kept" in page and "Not an e-mail address" in page


def test_an_unreachable_server_marks_the_mail_failed_with_the_reason_and_it_can_be_sent_again(world):
    server = OutgoingServer.objects.get(pk=1)
    port = server.port
    OutgoingServer.objects.filter(pk=1).update(port=1)  # nothing listens there
    mail = send_now(services.compose(acting_user=world["user"], to="a@b.test", subject="Later", body="x"))
    assert mail.status == MailStatus.FAILED and "could not be reached" in mail.error
    assert mail.action.status == ActionStatus.TODO
    client = logged_in(world["user"])
    assert "could not be reached" in client.get(f"/crm/mail/sent/{mail.pk}/").content.decode()
    OutgoingServer.objects.filter(pk=1).update(port=port)
    assert client.post(f"/crm/mail/sent/{mail.pk}/retry/").status_code == 302
    mail = send_now(mail)
    assert mail.status == MailStatus.SENT and len(world["smtp"].messages) == 1


def test_the_smtp_server_refusing_the_message_is_reported(world):
    world["smtp"].refuse_next = "554 5.7.1 Message refused as spam"
    mail = send_now(services.compose(acting_user=world["user"], to="a@b.test", subject="Spam?", body="x"))
    assert mail.status == MailStatus.FAILED and "refused as spam" in mail.error


def test_another_user_cannot_read_or_retry_my_mail(world):
    mail = services.compose(acting_user=world["user"], to="a@b.test", subject="Mine", body="x")
    other = logged_in(make_user("otto"))
    assert other.get(f"/crm/mail/sent/{mail.pk}/").status_code == 404
    assert other.post(f"/crm/mail/sent/{mail.pk}/retry/").status_code == 404


# --- S7: drafts -----------------------------------------------------------------------------------


@pytest.fixture
def mailbox(world, dovecot):  # noqa: F811
    user = dovecot.add_user()
    box = services.save_mailbox(
        acting_user=world["user"],
        mailbox=None,
        values={
            "name": "Olive",
            "address": user.address,
            "imap_host": dovecot.host,
            "imap_port": dovecot.port,
            "imap_security": Security.NONE,
            "login": user.login,
            "is_default": True,
        },
        password=user.password,
    )
    return box, user


def test_in_drafts_mode_the_mail_lands_once_in_the_drafts_folder_flagged_draft(world, mailbox, dovecot):  # noqa: F811
    box, user = mailbox
    CompanySettings.objects.filter(pk=1).update(default_sending_method="drafts")
    mail = services.compose(acting_user=world["user"], to="jean@dupont.test", subject="Brouillon", body="À relire")
    assert mail.method == Method.DRAFTS and mail.mailbox == box
    mail = send_now(mail)
    assert mail.status == MailStatus.DRAFTED, mail.error
    OutgoingMail.objects.filter(pk=mail.pk).update(status=MailStatus.QUEUED)  # a repeated task
    send_now(mail)
    imap = dovecot.client(user)
    imap.select_folder("Drafts")
    uids = imap.search(["HEADER", "Message-ID", mail.message_id])
    assert len(uids) == 1
    fetched = imap.fetch(uids, ["FLAGS", "RFC822"])[uids[0]]
    assert b"\\Draft" in fetched[b"FLAGS"]
    draft = email.message_from_bytes(fetched[b"RFC822"], policy=policy.default)
    assert draft["Subject"] == "Brouillon" and "À relire" in draft.get_body(("plain",)).get_content()
    assert not world["smtp"].messages
    assert mail.action.status == ActionStatus.TODO  # until Suivi sees it in Sent


def test_the_user_preference_and_the_message_override_the_company_default(world, mailbox):
    user = world["user"]
    assert services.sending_method(user) == Method.SEND
    user.sending_method = "drafts"
    user.save()
    assert services.sending_method(user) == Method.DRAFTS
    assert services.sending_method(user, chosen="send") == Method.SEND


def test_drafts_mode_without_a_mailbox_says_what_to_do(world):
    with pytest.raises(InvalidInput) as refused:
        services.compose(acting_user=world["user"], to="a@b.test", subject="x", body="x", method="drafts")
    assert "add your mailbox" in refused.value.errors["method"]


def test_a_drafts_folder_that_cannot_be_reached_fails_the_mail_with_the_reason(world, mailbox):
    box, _user = mailbox
    Mailbox.objects.filter(pk=box.pk).update(imap_port=1)
    mail = send_now(services.compose(acting_user=world["user"], to="a@b.test", subject="x", body="x", method="drafts"))
    assert mail.status == MailStatus.FAILED and mail.error


# --- S3: desktop Outlook ------------------------------------------------------------------------------


def test_with_outlook_on_this_device_the_mail_is_an_eml_ready_to_send(world):
    client = logged_in(world["user"])
    client.get("/preferences/")  # the browser gets its device cookie
    device_id = signing.loads(client.cookies[DEVICE_COOKIE].value, salt=_SALT)
    DevicePreference.objects.create(user=world["user"], device_id=device_id, send_via_outlook=True)
    response = client.post(
        "/crm/mail/new/",
        {
            "to": "jean@dupont.test",
            "subject": "Par Outlook",
            "body": "Bonjour",
            "files": [SimpleUploadedFile("a.pdf", PDF)],
        },
    )
    mail = OutgoingMail.objects.get()
    assert response.status_code == 302 and mail.method == Method.OUTLOOK_DESKTOP and mail.status == MailStatus.HANDED
    eml = client.get(f"/crm/mail/sent/{mail.pk}/outlook.eml")
    assert eml["Content-Type"] == "message/rfc822"
    parsed = email.message_from_bytes(eml.content, policy=policy.default)
    assert parsed["X-Unsent"] == "1" and parsed["Subject"] == "Par Outlook" and parsed["To"] == "jean@dupont.test"
    assert [a.get_filename() for a in parsed.iter_attachments()] == ["a.pdf"]
    assert not world["smtp"].messages


def test_a_25_mb_attachment_is_refused_with_its_name_and_what_was_typed_stays(world, settings):
    from suivi.activities.models import Attachment

    client = logged_in(world["user"])
    big = SimpleUploadedFile("plans.zip", b"PK\x03\x04" + b"0" * (25 * 1024 * 1024))
    response = client.post(
        "/crm/mail/new/", {"to": "jean@dupont.test", "subject": "Les plans", "body": "Ci-joint", "files": [big]}
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "plans.zip: a file can be at most 20 MB" in page and "Les plans" in page and "Ci-joint" in page
    assert not OutgoingMail.objects.exists() and not Attachment.objects.exists()


def test_a_forged_in_reply_to_is_dropped_and_a_mail_that_cannot_be_built_fails_instead_of_hanging(world, monkeypatch):
    mail = services.compose(
        acting_user=world["user"], to="a@b.test", subject="Re", body="x", in_reply_to="<a@b>\r\nBcc: x@evil.test"
    )
    assert "\n" not in mail.in_reply_to and "Bcc" not in mail.in_reply_to
    send_now(mail)
    rcpts, received = world["smtp"].messages[0]
    assert rcpts == ["a@b.test"] and received["Bcc"] is None

    def broken(mail):
        raise RuntimeError("unexpected")

    monkeypatch.setattr(sending, "build_message", broken)
    other = send_now(services.compose(acting_user=world["user"], to="a@b.test", subject="x", body="x"))
    assert other.status == MailStatus.FAILED and other.error


def test_sent_by_me_lists_only_my_mails_even_for_a_manager_and_the_action_reads_as_text(world):
    from suivi.accounts.models import Role

    mine = services.compose(acting_user=world["user"], to="a@b.test", subject="From Olive", body="Bonjour\n\nÀ bientôt")
    assert mine.action.description == "Bonjour\n\nÀ bientôt"
    manager = make_user("mona", role=Role.MANAGER)
    services.compose(acting_user=manager, to="a@b.test", subject="From Mona", body="x")
    page = logged_in(manager).get("/crm/mail/sent/").content.decode()
    assert "From Mona" in page and "From Olive" not in page
