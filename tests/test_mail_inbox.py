"""The default inbox per user (issue 10, point 5, S15) against a real Dovecot: incremental reads,
UIDVALIDITY resync without duplicates, filing as e-mail actions (once per Message-ID), threads,
auto-replies and bounces kept apart, the auto-filing rule, drafts seen in Sent."""

from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import pytest

from suivi.activities.models import Action, ActionStatus
from suivi.mailing import inbox, sending, services
from suivi.mailing.models import FolderState, InboxStatus, IncomingMail, MailKind, MailStatus, Security

from . import factories
from .conftest import logged_in, make_user
from .mailservers import dovecot, smtp_server  # noqa: F401  (fixtures)

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


@pytest.fixture(autouse=True)
def _loopback_allowed(settings):
    settings.SUIVI_ALLOWED_PRIVATE_HOSTS = ["127.0.0.1"]


def mail(sender="jean@dupont.test", subject="Question", body="Bonjour", *, to=None, message_id=None, **headers):
    m = EmailMessage()
    m["From"] = f"Jean Dupont <{sender}>"
    m["To"] = to or "olive@acme.test"
    m["Subject"] = subject
    m["Date"] = format_datetime(datetime(2026, 11, 20, 9, 30, tzinfo=UTC))
    m["Message-ID"] = message_id or make_msgid(domain="dupont.test")
    for name, value in headers.items():
        m[name.replace("_", "-")] = value
    m.set_content(body)
    return m


@pytest.fixture
def world(db, dovecot):  # noqa: F811
    olive = make_user("olive", email="olive@acme.test")
    account = dovecot.add_user()
    box = services.save_mailbox(
        acting_user=olive,
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
    party = factories.party(olive, name="Garage Dupont")
    contact = factories.contact(olive, party, first_name="Jean", last_name="Dupont", email="Jean@Dupont.test")
    return {"user": olive, "box": box, "account": account, "party": party, "contact": contact, "dovecot": dovecot}


def deliver(world, message, folder="INBOX"):
    raw = message if isinstance(message, bytes) else bytes(message)
    world["dovecot"].deliver(world["account"], raw, folder=folder)


def test_reads_are_incremental_and_a_changed_uidvalidity_resyncs_without_duplicates(world):
    for n in range(3):
        deliver(world, mail(subject=f"Mail {n}"))
    assert inbox.read_mailbox(world["box"].pk) == 3
    assert inbox.read_mailbox(world["box"].pk) == 0
    deliver(world, mail(subject="Mail 3"))
    assert inbox.read_mailbox(world["box"].pk) == 1
    assert IncomingMail.objects.count() == 4
    FolderState.objects.filter(mailbox=world["box"]).update(uidvalidity=1)  # the server renumbered
    assert inbox.read_mailbox(world["box"].pk) == 0
    assert IncomingMail.objects.count() == 4
    state = FolderState.objects.get(mailbox=world["box"], folder="INBOX")
    assert state.uidvalidity != 1 and state.last_uid >= 4


def test_the_inbox_suggests_the_party_of_the_sender_and_files_the_mail_once(world):
    message = mail(subject="Devis moteur")
    message.add_attachment(PDF, maintype="application", subtype="pdf", filename="photo.pdf")
    deliver(world, message)
    inbox.read_mailbox(world["box"].pk)
    incoming = IncomingMail.objects.get()
    client = logged_in(world["user"])
    listing = client.get("/crm/mail/").content.decode()
    assert "Devis moteur" in listing
    page = client.get(f"/crm/mail/inbox/{incoming.pk}/").content.decode()
    assert "File on Garage Dupont" in page and "Jean Dupont" in page
    response = client.post(
        f"/crm/mail/inbox/{incoming.pk}/", {"party": world["party"].pk, "contacts": str(world["contact"].pk)}
    )
    assert response.status_code == 302
    action = Action.objects.get()
    assert (action.subject, action.party, action.status) == ("Devis moteur", world["party"], ActionStatus.DONE)
    assert [a.name for a in action.attachments.all()] == ["photo.pdf"]
    assert list(action.contacts.all()) == [world["contact"]]
    incoming.refresh_from_db()
    assert incoming.status == InboxStatus.FILED and incoming.action == action
    again = services.file_mail(acting_user=world["user"], mail=incoming, party=world["party"])
    assert again == action and Action.objects.count() == 1


def test_a_reply_threads_with_the_action_of_the_mail_it_answers(world, smtp_server, settings):  # noqa: F811
    from suivi.mailing.models import OutgoingServer

    OutgoingServer.objects.update_or_create(
        pk=1, defaults={"host": "127.0.0.1", "port": smtp_server.port, "security": "none"}
    )
    folder = factories.folder(world["user"], name="Moteur", party=world["party"])
    sent = services.compose(
        acting_user=world["user"], to="jean@dupont.test", subject="Offre", body="x", party=world["party"], folder=folder
    )
    sending.deliver(sent.pk)
    deliver(world, mail(subject="Re: Offre", In_Reply_To=sent.message_id, References=sent.message_id))
    inbox.read_mailbox(world["box"].pk)
    incoming = IncomingMail.objects.get()
    [suggestion] = services_suggestions(world, incoming)
    assert suggestion.thread == sent.action and suggestion.party == world["party"]
    assert suggestion.folder == folder


def services_suggestions(world, incoming):
    from suivi.mailing.queries import suggestions

    return suggestions(world["user"], incoming, {world["box"].address.lower()})


def test_auto_replies_and_bounces_are_not_conversations(world):
    deliver(world, mail(subject="Absent du bureau", Auto_Submitted="auto-replied"))
    bounce = (
        "From: MAILER-DAEMON@dupont.test\r\n"
        f"To: {world['box'].address}\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        f"Message-ID: {make_msgid()}\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/plain\r\n\r\nThis is the mail system.\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.dupont.test\r\n\r\n"
        "Final-Recipient: rfc822; bob@dupont.test\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "--B--\r\n"
    ).encode()
    deliver(world, bounce)
    deliver(world, mail(subject="Real question"))
    inbox.read_mailbox(world["box"].pk)
    kinds = dict(IncomingMail.objects.values_list("subject", "kind"))
    assert kinds["Absent du bureau"] == MailKind.AUTO_REPLY
    assert kinds["Undelivered Mail Returned to Sender"] == MailKind.BOUNCE
    assert kinds["Real question"] == MailKind.CONVERSATION
    new = IncomingMail.objects.filter(status=InboxStatus.NEW).values_list("subject", flat=True)
    assert list(new) == ["Real question"]


def test_the_auto_filing_rule_files_mails_of_known_contacts_only(world):
    services.save_mailbox(
        acting_user=world["user"],
        mailbox=world["box"],
        values={**{f: getattr(world["box"], f) for f in world["box"].EDITABLE}, "auto_file": True},
        password=None,
        expected_version=world["box"].version,
    )
    deliver(world, mail(subject="From a contact"))
    deliver(world, mail(sender="stranger@nowhere.test", subject="From a stranger"))
    inbox.read_mailbox(world["box"].pk)
    statuses = dict(IncomingMail.objects.values_list("subject", "status"))
    assert statuses == {"From a contact": InboxStatus.FILED, "From a stranger": InboxStatus.NEW}
    assert Action.objects.get().party == world["party"]


def test_a_draft_stored_by_suivi_becomes_sent_when_it_shows_up_in_sent(world):
    sent = services.compose(
        acting_user=world["user"], to="jean@dupont.test", subject="Brouillon", body="x", method="drafts"
    )
    sending.deliver(sent.pk)
    sent.refresh_from_db()
    assert sent.status == MailStatus.DRAFTED
    inbox.read_mailbox(world["box"].pk)
    sent.refresh_from_db()
    assert sent.status == MailStatus.DRAFTED
    deliver(world, mail(subject="Brouillon", message_id=sent.message_id), folder="Sent")
    inbox.read_mailbox(world["box"].pk)
    sent.refresh_from_db()
    assert sent.status == MailStatus.SENT and sent.action.status == ActionStatus.DONE


def test_a_refused_login_is_kept_on_the_mailbox_for_its_owner(world):
    services.save_mailbox(
        acting_user=world["user"],
        mailbox=world["box"],
        values={f: getattr(world["box"], f) for f in world["box"].EDITABLE},
        password="wrong",
        expected_version=world["box"].version,
    )
    assert inbox.read_mailbox(world["box"].pk) == 0
    world["box"].refresh_from_db()
    assert world["box"].last_error and "wrong" not in world["box"].last_error
    page = logged_in(world["user"]).get("/crm/mail/").content.decode()
    assert world["box"].last_error[:30] in page


def test_another_user_sees_neither_the_mailbox_nor_its_mails(world):
    deliver(world, mail(subject="Private"))
    inbox.read_mailbox(world["box"].pk)
    incoming = IncomingMail.objects.get()
    other = logged_in(make_user("otto"))
    assert "Private" not in other.get("/crm/mail/").content.decode()
    assert other.get(f"/crm/mail/inbox/{incoming.pk}/").status_code == 404
    assert other.post(f"/crm/mail/inbox/{incoming.pk}/", {"party": world["party"].pk}).status_code == 404
    assert other.post(f"/crm/mail/inbox/{incoming.pk}/ignore/").status_code == 404
    assert other.get(f"/crm/mail/mailboxes/{world['box'].pk}/").status_code == 404


def test_a_shared_mailbox_is_read_by_its_members_only(world, dovecot):  # noqa: F811
    from suivi.accounts.models import Role

    admin = make_user("ada", role=Role.ADMINISTRATOR)
    member, outsider = make_user("mia"), make_user("otto")
    account = dovecot.add_user()
    client = logged_in(admin)
    response = client.post(
        "/crm/mail/mailboxes/new/?shared=1",
        {
            "name": "Sales",
            "address": account.address,
            "imap_host": dovecot.host,
            "imap_port": dovecot.port,
            "imap_security": "none",
            "login": account.login,
            "password": account.password,
            "members": [member.pk],
        },
    )
    assert response.status_code == 302
    from suivi.mailing.models import Mailbox

    shared = Mailbox.objects.get(name="Sales")
    assert shared.owner is None and list(shared.members.all()) == [member]
    dovecot.deliver(account, bytes(mail(subject="For the team")))
    inbox.read_mailbox(shared.pk)
    assert "For the team" in logged_in(member).get("/crm/mail/").content.decode()
    assert "For the team" not in logged_in(outsider).get("/crm/mail/").content.decode()
    assert logged_in(member).post(f"/crm/mail/mailboxes/{shared.pk}/", {"name": "Mine"}).status_code == 403


def test_the_inbox_is_the_users_own_even_for_an_administrator_and_the_party_picker_files_on_the_party(world):
    from suivi.accounts.models import Role
    from suivi.core.models import AuditEvent

    deliver(world, mail(subject="Personnel et confidentiel"))
    inbox.read_mailbox(world["box"].pk)
    incoming = IncomingMail.objects.get()
    admin = logged_in(make_user("ada", role=Role.ADMINISTRATOR))
    assert "Personnel et confidentiel" not in admin.get("/crm/mail/").content.decode()
    assert admin.get(f"/crm/mail/inbox/{incoming.pk}/").status_code == 404
    client = logged_in(world["user"])
    page = client.get(f"/crm/mail/inbox/{incoming.pk}/").content.decode()
    assert 'name="party" value="" data-picker-value' in page  # the manual picker posts a party
    client.post(f"/crm/mail/inbox/{incoming.pk}/", {"party": world["party"].pk})
    action = Action.objects.get()
    assert action.party == world["party"] and "<p>" not in action.description
    assert "Bonjour" in action.description
    assert (
        AuditEvent.objects.filter(object_type="activities.action", object_id=str(action.pk), verb="create").count() == 1
    )
