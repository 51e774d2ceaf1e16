"""The mail API (issue 10, point 6) against real servers on loopback: mailboxes (the password
never read back, updates with their version, the connection test against Dovecot), mails composed
through the API and received by the SMTP server, sent again after a failure, the inbox read from
Dovecot and filed through the API; bad input answered 400 with a field message; lists that cost
the same for 3 rows and 30."""

from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from rest_framework.test import APIClient

from suivi.accounts.models import Role
from suivi.activities.models import Action, ActionStatus
from suivi.mailing import inbox, sending, services
from suivi.mailing.models import (
    InboxStatus,
    IncomingMail,
    Mailbox,
    MailStatus,
    Method,
    OutgoingMail,
    OutgoingServer,
    Security,
)

from . import factories
from .conftest import make_user
from .mailservers import dovecot, smtp_server  # noqa: F401  (fixtures)

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
HUGE = 99999999999999999999


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


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def errors(response) -> dict:
    assert response.status_code == 400, (response.status_code, response.content[:500])
    return response.json()["errors"]


def box_values(**extra) -> dict:
    return {
        "name": "Olive",
        "address": "olive@acme.test",
        "imap_host": "imap.acme.test",
        "imap_port": 993,
        "imap_security": "ssl",
        "login": "olive",
        **extra,
    }


# --- mailboxes ------------------------------------------------------------------------------------


def test_a_mailbox_is_created_changed_with_its_version_and_its_password_is_never_read_back(world):
    client = api(world["user"])
    created = client.post("/api/v1/mailboxes/", box_values(password="s3cret", is_default=True), format="json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert "password" not in body and "s3cret" not in created.content.decode()
    assert body["owner"] == world["user"].pk and body["shared"] is False and body["version"] == 1
    box = Mailbox.objects.get(pk=body["id"])
    assert box.password == "s3cret" and box.is_default
    url = f"/api/v1/mailboxes/{box.pk}/"
    read = client.get(url)
    assert "password" not in read.json() and read["ETag"] == '"1"'
    assert "s3cret" not in client.get("/api/v1/mailboxes/").content.decode()
    # An update states the version it started from.
    assert client.patch(url, {"name": "Mine"}, format="json").status_code == 428
    assert client.patch(url, {"name": "Mine", "version": 7}, format="json").status_code == 409
    changed = client.patch(url, {"name": "Mine"}, format="json", HTTP_IF_MATCH='"1"')
    assert changed.status_code == 200 and changed["ETag"] == '"2"'
    box.refresh_from_db()
    # A PATCH keeps what it leaves out, the password included (left out or null keeps it).
    assert (box.name, box.imap_host, box.login, box.password, box.is_default) == (
        "Mine",
        "imap.acme.test",
        "olive",
        "s3cret",
        True,
    )
    client.patch(url, {"password": None, "version": 2}, format="json")
    box.refresh_from_db()
    assert box.password == "s3cret" and box.version == 3
    client.patch(url, {"password": "", "version": 3}, format="json")  # an empty string clears it
    box.refresh_from_db()
    assert box.password == ""
    assert client.delete(url).status_code == 204
    assert not Mailbox.objects.filter(pk=box.pk).exists()


def test_a_mailbox_refuses_bad_values_with_a_message_on_each_field(world):
    client = api(world["user"])
    refused = errors(
        client.post(
            "/api/v1/mailboxes/",
            {"name": "", "address": "not an address", "imap_host": "", "imap_port": 0, "login": ""},
            format="json",
        )
    )
    assert set(refused) == {"name", "address", "imap_host", "imap_port", "login"}
    assert "65535" in refused["imap_port"]
    assert "members" in errors(client.post("/api/v1/mailboxes/", box_values(members=[1]), format="json"))
    assert "imap_port" in errors(client.post("/api/v1/mailboxes/", box_values(imap_port=HUGE), format="json"))
    assert "imap_security" in errors(
        client.post("/api/v1/mailboxes/", box_values(imap_security="rot13"), format="json")
    )
    assert "address" in errors(client.post("/api/v1/mailboxes/", box_values(address="a" * 300), format="json"))
    surrogate = b'{"name": "\\ud800", "address": "a@b.test"}'
    assert client.post("/api/v1/mailboxes/", surrogate, content_type="application/json").status_code == 400
    nul = client.post("/api/v1/mailboxes/", box_values(name="a\u0000b"), format="json")
    assert nul.status_code == 400 and "NUL" in nul.json()["detail"]
    assert not Mailbox.objects.exists()
    box = services.save_mailbox(acting_user=world["user"], mailbox=None, values=box_values(), password="x")
    assert "shared" in errors(
        client.patch(f"/api/v1/mailboxes/{box.pk}/", {"shared": True, "version": 1}, format="json")
    )
    assert client.get(f"/api/v1/mailboxes/{HUGE}/").status_code == 404
    assert client.get("/api/v1/mailboxes/abc/").status_code == 404


def test_a_shared_mailbox_is_an_administrators_and_read_by_its_members(world):
    admin = make_user("ada", Role.ADMINISTRATOR)
    member, outsider = make_user("mia"), make_user("otto")
    created = api(admin).post(
        "/api/v1/mailboxes/", box_values(name="Sales", shared=True, members=[member.pk]), format="json"
    )
    assert created.status_code == 201, created.content
    assert created.json()["shared"] is True and created.json()["members"] == [member.pk]
    pk = created.json()["id"]
    assert api(member).get(f"/api/v1/mailboxes/{pk}/").status_code == 200
    assert [b["id"] for b in api(member).get("/api/v1/mailboxes/").json()["results"]] == [pk]
    assert api(outsider).get(f"/api/v1/mailboxes/{pk}/").status_code == 404
    assert api(outsider).get("/api/v1/mailboxes/").json()["results"] == []
    assert (
        api(member).patch(f"/api/v1/mailboxes/{pk}/", {"name": "Mine", "version": 1}, format="json").status_code == 403
    )
    assert api(member).delete(f"/api/v1/mailboxes/{pk}/").status_code == 403
    changed = api(admin).patch(f"/api/v1/mailboxes/{pk}/", {"members": [outsider.pk], "version": 1}, format="json")
    assert changed.status_code == 200 and changed.json()["members"] == [outsider.pk]
    assert api(member).get(f"/api/v1/mailboxes/{pk}/").status_code == 404


def test_the_connection_test_answers_each_step_against_dovecot(world, dovecot):  # noqa: F811
    account = dovecot.add_user()
    values = box_values(
        address=account.address,
        imap_host=dovecot.host,
        imap_port=dovecot.port,
        imap_security=Security.NONE,
        login=account.login,
    )
    box = services.save_mailbox(acting_user=world["user"], mailbox=None, values=values, password=account.password)
    answer = api(world["user"]).post(f"/api/v1/mailboxes/{box.pk}/check/")
    assert answer.status_code == 200, answer.content
    assert answer.json()["ok"] is True
    assert [s["step"] for s in answer.json()["steps"]] == ["dns", "tcp", "login", "folder"]
    services.save_mailbox(
        acting_user=world["user"], mailbox=box, values=values, password="wrong", expected_version=box.version
    )
    answer = api(world["user"]).post(f"/api/v1/mailboxes/{box.pk}/check/").json()
    assert answer["ok"] is False and answer["steps"][-1]["step"] == "login" and not answer["steps"][-1]["ok"]
    assert "wrong" not in str(answer)
    assert api(make_user("otto")).post(f"/api/v1/mailboxes/{box.pk}/check/").status_code == 404


# --- composed mails ----------------------------------------------------------------------------------


def test_a_mail_composed_through_the_api_reaches_the_smtp_server_and_is_an_action_on_the_party(world):
    client = api(world["user"])
    created = client.post(
        "/api/v1/messages/",
        {
            "to": ["Compta <compta@dupont.test>", "jean@dupont.test"],
            "cc": ["boss@dupont.test"],
            "subject": "Votre devis",
            "body": "Bonjour,\n\nVoici le devis.",
            "party": world["party"].pk,
            "contacts": [world["contact"].pk],
            "method": "send",
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["status"] == MailStatus.QUEUED and body["method"] == Method.SEND and body["action"]
    assert body["to"] == ["Compta <compta@dupont.test>", "jean@dupont.test"] and body["cc"] == ["boss@dupont.test"]
    sending.deliver(body["id"])
    sent = client.get(f"/api/v1/messages/{body['id']}/").json()
    assert sent["status"] == MailStatus.SENT and sent["error"] == "" and sent["body"] == "Bonjour,\n\nVoici le devis."
    rcpts, received = world["smtp"].messages[0]
    assert sorted(rcpts) == ["boss@dupont.test", "compta@dupont.test", "jean@dupont.test"]
    assert received["Subject"] == "Votre devis" and received["Message-ID"] == sent["message_id"]
    action = Action.objects.get(pk=sent["action"])
    assert action.party == world["party"] and action.status == ActionStatus.DONE
    assert list(action.contacts.all()) == [world["contact"]]


def test_a_mail_with_attachments_is_composed_as_multipart(world):
    created = api(world["user"]).post(
        "/api/v1/messages/",
        {
            "to": ["jean@dupont.test", "compta@dupont.test"],
            "subject": "Devis",
            "body": "Ci-joint.",
            "party": world["party"].pk,
            "files": [SimpleUploadedFile("devis.pdf", PDF), SimpleUploadedFile("plan.txt", b"plan")],
        },
        format="multipart",
    )
    assert created.status_code == 201, created.content
    mail = OutgoingMail.objects.get(pk=created.json()["id"])
    assert mail.to == ["jean@dupont.test", "compta@dupont.test"]
    sending.deliver(mail.pk)
    _rcpts, received = world["smtp"].messages[0]
    names = sorted(a.get_filename() for a in received.iter_attachments())
    assert names == ["devis.pdf", "plan.txt"]


def test_bad_input_to_compose_is_a_400_with_a_field_message_and_records_nothing(world, settings):
    client = api(world["user"])
    actions = Action.objects.count()

    def refused(**values):
        data = {"to": ["jean@dupont.test"], "subject": "Hello", "body": "x", **values}
        return errors(client.post("/api/v1/messages/", data, format="json"))

    assert "recipient" in refused(to=[])["to"]
    assert "recipient" in refused(to=[""])["to"]
    assert "100" in refused(to=[f"r{n}@dupont.test" for n in range(2000)])["to"]
    assert "to" in refused(to=[f"r{n}@dupont.test" for n in range(5000)])
    assert "Not an e-mail address" in refused(to=["nobody"], cc=["also nobody"])["cc"]
    assert "subject" in refused(subject="")
    assert "subject" in refused(subject="x" * 600)
    assert "party" in refused(party=HUGE)
    assert "12345" in refused(party=12345)["party"]
    assert "folder" in refused(folder=HUGE)
    assert "contacts" in refused(contacts=[world["contact"].pk, HUGE])
    assert "contacts" in refused(contacts=[987654])
    assert "in_reply_to" in refused(in_reply_to="<a@b>\r\nBcc: victim@evil.test")
    assert "browser" in refused(method="outlook")["method"][0]
    assert "method" in refused(method="pigeon")
    assert "mailbox" in refused(method="drafts")["method"]  # no default mailbox to store drafts in
    nul = client.post("/api/v1/messages/", {"to": ["a@b.test"], "subject": "a\u0000b"}, format="json")
    assert nul.status_code == 400 and "NUL" in nul.json()["detail"]
    nul = client.post("/api/v1/messages/", {"to": "a@b.test", "subject": "a\u0000b"}, format="multipart")
    assert "subject" in errors(nul)
    surrogate = b'{"to": ["a@b.test"], "subject": "\\udc00", "body": "x"}'
    assert client.post("/api/v1/messages/", surrogate, content_type="application/json").status_code == 400
    assert client.post("/api/v1/messages/", b"[1, 2]", content_type="application/json").status_code == 400
    settings.SUIVI_ATTACHMENT_MAX_BYTES = 10
    upload = {"to": ["a@b.test"], "subject": "Big", "files": [SimpleUploadedFile("big.pdf", PDF)]}
    assert "big.pdf" in errors(client.post("/api/v1/messages/", upload, format="multipart"))["files"]
    assert not OutgoingMail.objects.exists() and Action.objects.count() == actions


def test_header_injection_in_subject_and_names_adds_no_header(world):
    created = api(world["user"]).post(
        "/api/v1/messages/",
        {"to": ['"Eve\r\nBcc: victim@evil.test" <eve@dupont.test>'], "subject": "Hi\r\nBcc: victim@evil.test"},
        format="json",
    )
    assert created.status_code == 201, created.content
    sending.deliver(created.json()["id"])
    rcpts, received = world["smtp"].messages[0]
    assert rcpts == ["eve@dupont.test"] and received["Bcc"] is None
    assert received["Subject"] == "Hi Bcc: victim@evil.test"


def test_a_failed_mail_is_sent_again_through_the_api(world):
    port = OutgoingServer.objects.get(pk=1).port
    OutgoingServer.objects.filter(pk=1).update(port=1)  # nothing listens there
    client = api(world["user"])
    pk = client.post("/api/v1/messages/", {"to": ["a@b.test"], "subject": "Later"}, format="json").json()["id"]
    sending.deliver(pk)
    failed = client.get(f"/api/v1/messages/{pk}/").json()
    assert failed["status"] == MailStatus.FAILED and "could not be reached" in failed["error"]
    assert api(make_user("otto")).post(f"/api/v1/messages/{pk}/retry/").status_code == 404
    OutgoingServer.objects.filter(pk=1).update(port=port)
    again = client.post(f"/api/v1/messages/{pk}/retry/")
    assert again.status_code == 200 and again.json()["status"] == MailStatus.QUEUED and again.json()["error"] == ""
    sending.deliver(pk)
    assert client.get(f"/api/v1/messages/{pk}/").json()["status"] == MailStatus.SENT
    assert len(world["smtp"].messages) == 1
    assert "status" in errors(client.post(f"/api/v1/messages/{pk}/retry/"))  # sent: nothing to retry
    assert client.post(f"/api/v1/messages/{HUGE}/retry/").status_code == 404


def test_the_list_holds_ones_own_mails_newest_first_without_their_body(world):
    mine = [
        services.compose(acting_user=world["user"], to="a@b.test", subject=f"Mine {n}", body="long body")
        for n in range(2)
    ]
    other = make_user("otto")
    theirs = services.compose(acting_user=other, to="a@b.test", subject="Theirs", body="x")
    listed = api(world["user"]).get("/api/v1/messages/").json()
    assert [m["id"] for m in listed["results"]] == [mine[1].pk, mine[0].pk]
    assert "body" not in listed["results"][0] and listed["count"] == 2
    assert api(world["user"]).get(f"/api/v1/messages/{theirs.pk}/").status_code == 404
    manager = make_user("mia", Role.MANAGER)
    assert api(manager).get("/api/v1/messages/").json()["count"] == 3


# --- the inbox ------------------------------------------------------------------------------------


def message(subject="Question", sender="jean@dupont.test", **headers) -> bytes:
    m = EmailMessage()
    m["From"] = f"Jean Dupont <{sender}>"
    m["To"] = "olive@acme.test"
    m["Subject"] = subject
    m["Date"] = format_datetime(datetime(2026, 11, 20, 9, 30, tzinfo=UTC))
    m["Message-ID"] = make_msgid(domain="dupont.test")
    for name, value in headers.items():
        m[name] = value
    m.set_content("Bonjour, une question.")
    return bytes(m)


@pytest.fixture
def mailbox(world, dovecot):  # noqa: F811
    account = dovecot.add_user()
    box = services.save_mailbox(
        acting_user=world["user"],
        mailbox=None,
        values=box_values(
            address=account.address,
            imap_host=dovecot.host,
            imap_port=dovecot.port,
            imap_security=Security.NONE,
            login=account.login,
            is_default=True,
        ),
        password=account.password,
    )
    return box, account


def test_an_inbox_mail_read_from_dovecot_is_suggested_and_filed_through_the_api(world, mailbox, dovecot):  # noqa: F811
    box, account = mailbox
    dovecot.deliver(account, message("Devis moteur"))
    inbox.read_mailbox(box.pk)
    client = api(world["user"])
    listed = client.get("/api/v1/inbox/").json()
    assert listed["count"] == 1
    row = listed["results"][0]
    assert row["subject"] == "Devis moteur" and row["sender_email"] == "jean@dupont.test" and row["status"] == "new"
    assert "text" not in row and "html" not in row
    one = client.get(f"/api/v1/inbox/{row['id']}/").json()
    assert "une question" in one["text"]
    suggestion = one["suggestions"][0]
    assert suggestion["party"] == {"id": world["party"].pk, "name": "Garage Dupont"}
    assert suggestion["contacts"] == [world["contact"].pk] and suggestion["thread"] is None
    filed = client.post(
        f"/api/v1/inbox/{row['id']}/file/",
        {"party": suggestion["party"]["id"], "contacts": suggestion["contacts"]},
        format="json",
    )
    assert filed.status_code == 201, filed.content
    action = Action.objects.get(pk=filed.json()["action"])
    assert (action.subject, action.party, action.status) == ("Devis moteur", world["party"], ActionStatus.DONE)
    assert list(action.contacts.all()) == [world["contact"]]
    assert client.get("/api/v1/inbox/").json()["count"] == 0
    assert [m["action"] for m in client.get("/api/v1/inbox/?status=filed").json()["results"]] == [action.pk]
    # A reply to the filed mail's thread is suggested with its action.
    original = IncomingMail.objects.get(pk=row["id"])
    dovecot.deliver(account, message("Re: Devis moteur", **{"In-Reply-To": original.message_id}))
    inbox.read_mailbox(box.pk)
    reply = IncomingMail.objects.get(subject="Re: Devis moteur")
    assert client.get(f"/api/v1/inbox/{reply.pk}/").json()["suggestions"][0]["thread"] == action.pk


def test_an_inbox_mail_is_ignored_and_bad_filing_input_is_a_400(world):
    box = services.save_mailbox(acting_user=world["user"], mailbox=None, values=box_values(), password="x")
    mails = [
        IncomingMail.objects.create(
            mailbox=box, folder="INBOX", uid=n, message_id=f"<{n}@d.test>", subject=f"M{n}", date=timezone.now()
        )
        for n in range(2)
    ]
    client = api(world["user"])
    url = f"/api/v1/inbox/{mails[0].pk}/"
    assert "party" in errors(client.post(url + "file/", {"party": HUGE}, format="json"))
    assert "party" in errors(client.post(url + "file/", {"party": 424242}, format="json"))
    assert "folder" in errors(client.post(url + "file/", {"folder": "x"}, format="json"))
    assert "contacts" in errors(client.post(url + "file/", {"contacts": [HUGE]}, format="json"))
    assert "contacts" in errors(client.post(url + "file/", {"contacts": "1,2"}, format="json"))
    assert "status" in errors(client.get("/api/v1/inbox/?status=spam"))
    assert IncomingMail.objects.get(pk=mails[0].pk).status == InboxStatus.NEW
    assert client.post(url + "ignore/").status_code == 204
    assert [m["id"] for m in client.get("/api/v1/inbox/?status=ignored").json()["results"]] == [mails[0].pk]
    otto = api(make_user("otto"))
    other = f"/api/v1/inbox/{mails[1].pk}/"
    assert otto.get(other).status_code == 404
    assert otto.post(other + "ignore/").status_code == 404
    assert otto.post(other + "file/", {"party": world["party"].pk}, format="json").status_code == 404
    assert otto.get("/api/v1/inbox/").json()["count"] == 0
    assert client.get(f"/api/v1/inbox/{HUGE}/").status_code == 404
    assert IncomingMail.objects.get(pk=mails[1].pk).status == InboxStatus.NEW


# --- lists cost the same for 3 rows and 30 ---------------------------------------------------------


def _fill(world, rows: int) -> None:
    user = world["user"]
    admin = make_user(f"ada{rows}", Role.ADMINISTRATOR)
    now = timezone.now()
    for n in range(rows):
        own = services.save_mailbox(
            acting_user=user, mailbox=None, values=box_values(name=f"Box {rows}-{n}"), password="x"
        )
        shared = services.save_mailbox(
            acting_user=admin, mailbox=None, values=box_values(name=f"Shared {rows}-{n}", shared=True), password="x"
        )
        shared.members.set([user, admin])
        for box in (own, shared):
            IncomingMail.objects.create(
                mailbox=box,
                folder="INBOX",
                uid=n,
                message_id=f"<{rows}-{n}-{box.pk}@d.test>",
                subject="Hello",
                date=now - timedelta(minutes=n),
            )
        services.compose(acting_user=user, to="a@b.test", subject=f"Mail {n}", body="x", party=world["party"])


@pytest.mark.parametrize("rows", [3, 30])
@pytest.mark.parametrize(
    "url, queries",
    [("/api/v1/mailboxes/", 4), ("/api/v1/messages/", 3), ("/api/v1/inbox/", 3)],
)
def test_lists_cost_the_same_for_3_rows_and_30(world, django_assert_num_queries, rows, url, queries):
    _fill(world, rows)
    client = api(world["user"])
    with django_assert_num_queries(queries, info="CRM settings, count, rows (, members)"):
        answer = client.get(url)
    assert answer.status_code == 200 and answer.json()["count"] >= rows
