"""Microsoft 365 from the user's side (issue 10, point 4b, S3): connecting the account through the
pages, then a mail composed with "through Outlook" on this device leaves by Microsoft Graph —
sent, or filed in Outlook's drafts per S7. Microsoft's servers cannot be reached from here: the
identity platform and Graph are a local HTTPS stand-in replaying their documented shapes
(tests/graph_standin.py)."""

import base64

import pytest
from django.core import signing
from django.core.files.uploadedfile import SimpleUploadedFile

from suivi.accounts.middleware import _SALT, DEVICE_COOKIE
from suivi.accounts.models import DevicePreference
from suivi.activities.models import ActionStatus
from suivi.mailing import sending
from suivi.mailing.models import MailStatus, Method, MicrosoftAccount, OutgoingMail

from .conftest import logged_in, make_user
from .test_graph import _microsoft_is_the_standin, standin  # noqa: F401  (fixtures)

pytestmark = pytest.mark.filterwarnings("ignore:response_mode='form_post' is recommended:UserWarning")
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


@pytest.fixture
def connected(db, standin):  # noqa: F811
    user = make_user("claire", email="claire.martin@contoso.example")
    client = logged_in(user)
    start = client.post("/crm/mail/microsoft/connect/")
    assert start.status_code == 302 and start["Location"].startswith(standin.url)
    back = standin.sign_in(start["Location"])
    done = client.get("/crm/mail/microsoft/done/", back)
    assert done.status_code == 302
    client.get("/preferences/")
    device_id = signing.loads(client.cookies[DEVICE_COOKIE].value, salt=_SALT)
    DevicePreference.objects.create(user=user, device_id=device_id, send_via_outlook=True)
    return user, client


def test_connecting_keeps_the_tokens_encrypted_and_shows_the_account(connected):
    user, client = connected
    account = MicrosoftAccount.objects.get(user=user)
    assert account.account_email == "claire.martin@contoso.example" and account.access_token
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT access_token FROM mailing_microsoftaccount WHERE id = %s", [account.pk])
        assert cursor.fetchone()[0].startswith("fernet:")
    assert "Connected as claire.martin@contoso.example" in client.get("/crm/mail/mailboxes/").content.decode()


def test_a_mail_through_outlook_leaves_by_graph_with_its_attachment(connected, standin):  # noqa: F811
    user, client = connected
    response = client.post(
        "/crm/mail/new/",
        {
            "to": "Bob <bob@example.com>",
            "subject": "Devis",
            "body": "Bonjour",
            "files": [SimpleUploadedFile("d.pdf", PDF)],
        },
    )
    assert response.status_code == 302
    mail = OutgoingMail.objects.get()
    assert mail.method == Method.GRAPH_SEND
    sending.deliver(mail.pk)
    mail.refresh_from_db()
    assert mail.status == MailStatus.SENT, mail.error
    (sent,) = standin.sent
    message = sent["message"]
    assert message["subject"] == "Devis"
    assert message["toRecipients"] == [{"emailAddress": {"address": "bob@example.com", "name": "Bob"}}]
    (attachment,) = message["attachments"]
    assert attachment["name"] == "d.pdf" and base64.b64decode(attachment["contentBytes"]) == PDF
    assert mail.action.status == ActionStatus.DONE


def test_in_drafts_mode_the_mail_is_filed_in_outlooks_drafts(connected, standin):  # noqa: F811
    user, client = connected
    user.sending_method = "drafts"
    user.save()
    client.post("/crm/mail/new/", {"to": "bob@example.com", "subject": "À relire", "body": "x"})
    mail = OutgoingMail.objects.get()
    assert mail.method == Method.GRAPH_DRAFTS
    sending.deliver(mail.pk)
    mail.refresh_from_db()
    assert mail.status == MailStatus.DRAFTED and mail.graph_id in standin.drafts
    assert standin.sent == []


def test_a_revoked_account_fails_the_mail_with_a_message_to_reconnect(connected, standin):  # noqa: F811
    user, client = connected
    standin.revoke_all()
    client.post("/crm/mail/new/", {"to": "bob@example.com", "subject": "x", "body": "x"})
    mail = OutgoingMail.objects.get()
    sending.deliver(mail.pk)
    mail.refresh_from_db()
    assert mail.status == MailStatus.FAILED and "reconnect" in mail.error.lower()
