"""Microsoft 365 mail through Microsoft Graph (S3): connecting the account (authorisation code
flow with PKCE, through MSAL), refreshing tokens, sending and filing drafts, and every error a
user can meet. Microsoft is not reachable from here: the other side is a local HTTPS stand-in
(tests/graph_standin.py) that answers with the documented shapes and checks requests strictly.
Every request goes through Suivi's guarded client, with 127.0.0.1 allowed as an operator would."""

import base64
import json
import socket
import urllib.parse
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from django.core.mail import EmailMultiAlternatives

from suivi.lib.network import http_request
from suivi.mailing import graph
from suivi.mailing.graph import GraphError, GraphTokens

from .graph_standin import GraphStandIn

# Suivi asks for the code in the query string on purpose (see graph.authorisation_url); MSAL warns.
pytestmark = pytest.mark.filterwarnings("ignore:response_mode='form_post' is recommended:UserWarning")

CLIENT_ID = "4a1c7e0d-3b2f-4c8a-9d6e-5f7a8b9c0d1e"
CLIENT_SECRET = "stand-in secret~with.odd_chars"
REDIRECT_URI = "https://suivi.example/preferences/microsoft/back"
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n" + bytes(range(256)) * 4
HTML = "<p>Bonjour Bob,</p><p>Voici le devis <b>D-2026-014</b>.</p>"


@pytest.fixture(scope="module")
def standin(tmp_path_factory):
    server = GraphStandIn(tmp_path_factory.mktemp("graph"), client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    server.start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _microsoft_is_the_standin(standin, settings, monkeypatch):
    """Suivi configured as an operator would, pointed at the stand-in; the stand-in's test
    authority trusted by TLS (the guarded client verifies certificates)."""
    settings.SUIVI_MS_CLIENT_ID = CLIENT_ID
    settings.SUIVI_MS_CLIENT_SECRET = CLIENT_SECRET
    settings.SUIVI_MS_AUTHORITY = standin.authority
    settings.SUIVI_GRAPH_URL = standin.graph_url
    settings.SUIVI_ALLOWED_PRIVATE_HOSTS = ["127.0.0.1"]
    monkeypatch.setenv("SSL_CERT_FILE", str(standin.ca_file))
    standin.reset()


@pytest.fixture
def tokens(standin):
    return GraphTokens(
        access_token=standin.issue_access_token(),
        refresh_token=standin.issue_refresh_token(),
        expires_at=datetime.now(UTC) + timedelta(hours=1),
        account_email=standin.user["preferred_username"],
    )


def composed(**headers) -> EmailMessage:
    """A mail as Suivi composes it: text and HTML alternatives, a PDF, Suivi's own header."""
    message = EmailMessage()
    message["From"] = "Claire Martin <claire.martin@contoso.example>"
    message["To"] = "Bob Dupont <bob@example.com>"
    message["Cc"] = "Zoé Lambert <zoe@example.org>, compta@example.org"
    message["Reply-To"] = "ventes@contoso.example"
    message["Subject"] = "Votre devis D-2026-014 — Élan SRL"
    message["Message-ID"] = "<20260510.1@suivi.example>"
    message["X-Suivi-Id"] = "mail-42"
    for name, value in headers.items():
        del message[name.replace("_", "-")]
        message[name.replace("_", "-")] = value
    message.set_content("Bonjour Bob,\n\nVoici le devis D-2026-014.\n")
    message.add_alternative(HTML, subtype="html")
    message.add_attachment(PDF, maintype="application", subtype="pdf", filename="Devis D-2026-014.pdf")
    return message


def graph_requests(standin) -> list[tuple[str, str]]:
    return [r for r in standin.requests if r[1].startswith("/v1.0/")]


# --- Connecting the account -------------------------------------------------------------------


def test_connecting_an_account_goes_from_the_authorisation_url_to_tokens(standin):
    flow = graph.authorisation_url(redirect_uri=REDIRECT_URI, state="state-123")
    flow = json.loads(json.dumps(flow))  # kept in the session in between, as JSON

    auth_uri = urllib.parse.urlsplit(flow["auth_uri"])
    query = dict(urllib.parse.parse_qsl(auth_uri.query))
    assert f"{auth_uri.scheme}://{auth_uri.netloc}{auth_uri.path}" == f"{standin.url}/common/oauth2/v2.0/authorize"
    assert query["client_id"] == CLIENT_ID
    assert query["redirect_uri"] == REDIRECT_URI
    assert query["state"] == "state-123"
    assert query["response_type"] == "code"
    assert set(query["scope"].split()) == {"Mail.Send", "Mail.ReadWrite", "offline_access", "openid", "profile"}
    assert query["code_challenge_method"] == "S256"
    assert query["response_mode"] == "query"
    assert "code_verifier" not in query and query["nonce"] != flow["nonce"]  # only hashes leave Suivi

    tokens = graph.tokens_from_code(flow, standin.sign_in(flow["auth_uri"]))

    assert tokens.access_token in standin.access_tokens
    assert tokens.refresh_token in standin.refresh_tokens
    assert tokens.account_email == "claire.martin@contoso.example"
    assert abs((tokens.expires_at - datetime.now(UTC)).total_seconds() - 3599) < 60
    (exchange,) = standin.token_requests
    assert exchange["grant_type"] == "authorization_code"
    assert exchange["redirect_uri"] == REDIRECT_URI
    assert exchange["client_secret"] == CLIENT_SECRET
    assert exchange["code_verifier"] == flow["code_verifier"]


def test_a_sign_in_that_comes_back_with_another_state_is_refused(standin):
    flow = graph.authorisation_url(redirect_uri=REDIRECT_URI, state="state-123")
    answer = standin.sign_in(flow["auth_uri"])
    answer["state"] = "forged"

    with pytest.raises(GraphError) as caught:
        graph.tokens_from_code(flow, answer)

    assert caught.value.code == graph.SIGN_IN_FAILED
    assert "Connect the account again" in caught.value.message
    assert standin.token_requests == []


def test_a_user_who_declines_consent_gets_a_message_and_no_tokens(standin):
    flow = graph.authorisation_url(redirect_uri=REDIRECT_URI, state="state-123")
    answer = {"error": "access_denied", "error_description": "the user canceled", "state": "state-123"}

    with pytest.raises(GraphError) as caught:
        graph.tokens_from_code(flow, answer)

    assert caught.value.code == "access_denied"
    assert "not connected" in caught.value.message
    assert standin.token_requests == []


def test_a_code_used_twice_is_refused_by_the_identity_platform(standin):
    flow = graph.authorisation_url(redirect_uri=REDIRECT_URI, state="state-123")
    answer = standin.sign_in(flow["auth_uri"])
    graph.tokens_from_code(dict(flow), answer)

    with pytest.raises(GraphError) as caught:
        graph.tokens_from_code(dict(flow), answer)

    assert caught.value.code == "invalid_grant"
    assert "reconnect your Microsoft 365 account" in caught.value.message


def test_tokens_good_for_more_than_five_minutes_are_kept_as_they_are(standin, tokens):
    assert graph.refreshed(tokens) is tokens
    assert standin.requests == []


def test_tokens_about_to_expire_are_refreshed_and_the_refresh_token_rotated(standin, tokens):
    tokens.expires_at = datetime.now(UTC) + timedelta(minutes=4)

    fresh = graph.refreshed(tokens)

    assert fresh.access_token != tokens.access_token and fresh.access_token in standin.access_tokens
    assert fresh.refresh_token != tokens.refresh_token and fresh.refresh_token in standin.refresh_tokens
    assert fresh.expires_at > datetime.now(UTC) + timedelta(minutes=55)
    assert fresh.account_email == tokens.account_email
    (refresh,) = standin.token_requests
    assert refresh["grant_type"] == "refresh_token" and refresh["refresh_token"] == tokens.refresh_token
    assert {"Mail.Send", "Mail.ReadWrite", "offline_access"} <= set(refresh["scope"].split())


def test_a_revoked_refresh_token_asks_the_user_to_reconnect(standin, tokens):
    tokens.expires_at = datetime.now(UTC) - timedelta(minutes=1)
    tokens.refresh_token = "revoked-long-ago"

    with pytest.raises(GraphError) as caught:
        graph.refreshed(tokens)

    assert caught.value.code == "invalid_grant"
    assert caught.value.permanent
    assert "reconnect your Microsoft 365 account" in caught.value.message


def test_an_identity_platform_out_of_service_is_a_temporary_error(standin, tokens):
    tokens.expires_at = datetime.now(UTC)
    standin.fail_next("/common/oauth2/v2.0/token", 503, None, headers={"Retry-After": "10"})

    with pytest.raises(GraphError) as caught:
        graph.refreshed(tokens)

    assert (caught.value.code, caught.value.permanent) == (graph.SIGN_IN_FAILED, False)
    assert "Try again in a moment" in caught.value.message


def test_an_authority_without_openid_configuration_is_reported_as_misconfigured(standin, settings):
    settings.SUIVI_MS_AUTHORITY = f"{standin.url}/common/typo"

    with pytest.raises(GraphError) as caught:
        graph.authorisation_url(redirect_uri=REDIRECT_URI, state="s")

    assert caught.value.code == graph.SIGN_IN_FAILED
    assert "SUIVI_MS_AUTHORITY" in caught.value.message


def test_without_client_id_and_secret_the_administrator_is_told_what_to_set(settings):
    settings.SUIVI_MS_CLIENT_SECRET = ""

    with pytest.raises(GraphError) as caught:
        graph.authorisation_url(redirect_uri=REDIRECT_URI, state="s")

    assert caught.value.code == graph.NOT_CONFIGURED
    assert "SUIVI_MS_CLIENT_SECRET" in caught.value.message


def test_sign_in_traffic_goes_through_the_outbound_guard_too(standin, settings):
    settings.SUIVI_ALLOWED_PRIVATE_HOSTS = []

    with pytest.raises(GraphError) as caught:
        graph.authorisation_url(redirect_uri=REDIRECT_URI, state="s")

    assert caught.value.code == graph.DESTINATION_REFUSED
    assert "SUIVI_ALLOWED_PRIVATE_HOSTS" in caught.value.message
    assert standin.requests == []


# --- Sending ----------------------------------------------------------------------------------


def test_an_html_mail_with_cc_and_a_pdf_reaches_graph_as_the_documented_message(standin, tokens):
    graph.send_mail(tokens, composed())

    (payload,) = standin.sent
    assert set(payload) == {"message"}  # saveToSentItems only when false, as documented
    message = payload["message"]
    assert set(message) == {
        "subject",
        "body",
        "toRecipients",
        "ccRecipients",
        "replyTo",
        "attachments",
        "internetMessageHeaders",
    }
    assert message["subject"] == "Votre devis D-2026-014 — Élan SRL"
    assert message["body"]["contentType"] == "HTML"
    assert message["body"]["content"].strip() == HTML
    assert message["toRecipients"] == [{"emailAddress": {"address": "bob@example.com", "name": "Bob Dupont"}}]
    assert message["ccRecipients"] == [
        {"emailAddress": {"address": "zoe@example.org", "name": "Zoé Lambert"}},
        {"emailAddress": {"address": "compta@example.org"}},
    ]
    assert message["replyTo"] == [{"emailAddress": {"address": "ventes@contoso.example"}}]
    (attachment,) = message["attachments"]
    assert attachment["@odata.type"] == "#microsoft.graph.fileAttachment"
    assert attachment["name"] == "Devis D-2026-014.pdf"
    assert attachment["contentType"] == "application/pdf"
    assert base64.b64decode(attachment["contentBytes"]) == PDF
    assert message["internetMessageHeaders"] == [{"name": "X-Suivi-Id", "value": "mail-42"}]
    assert graph_requests(standin) == [("POST", "/v1.0/me/sendMail")]


def test_a_mail_can_be_sent_without_a_copy_in_sent_items(standin, tokens):
    graph.send_mail(tokens, composed(), save_to_sent=False)

    assert standin.sent[0]["saveToSentItems"] is False


def test_a_plain_text_mail_goes_as_text(standin, tokens):
    message = EmailMessage()
    message["To"] = "bob@example.com"
    message["Subject"] = "Rappel"
    message.set_content("Juste un rappel.\n")

    graph.send_mail(tokens, message)

    sent = standin.sent[0]["message"]
    assert sent["body"] == {"contentType": "Text", "content": "Juste un rappel.\n"}
    assert "attachments" not in sent and "internetMessageHeaders" not in sent


def test_an_inline_image_of_the_html_body_goes_as_an_inline_attachment(standin, tokens):
    message = EmailMessage()
    message["To"] = "bob@example.com"
    message["Subject"] = "Logo"
    message.set_content("Texte")
    message.add_alternative('<p><img src="cid:logo@suivi.example"></p>', subtype="html")
    message.get_body(("html",)).add_related(b"\x89PNG....", "image", "png", cid="<logo@suivi.example>")

    graph.send_mail(tokens, message)

    sent = standin.sent[0]["message"]
    assert sent["body"]["contentType"] == "HTML" and "cid:logo@suivi.example" in sent["body"]["content"]
    (image,) = sent["attachments"]
    assert (image["isInline"], image["contentId"], image["contentType"]) == (True, "logo@suivi.example", "image/png")
    assert base64.b64decode(image["contentBytes"]) == b"\x89PNG...."


def test_a_message_built_by_django_is_read_the_same_way(standin, tokens):
    django_message = EmailMultiAlternatives(
        subject="Devis", body="Texte", from_email="claire@contoso.example", to=["Bob <bob@example.com>"]
    )
    django_message.attach_alternative(HTML, "text/html")
    django_message.attach("devis.pdf", PDF, "application/pdf")

    graph.send_mail(tokens, django_message.message())

    sent = standin.sent[0]["message"]
    assert sent["body"]["contentType"] == "HTML"
    assert sent["toRecipients"] == [{"emailAddress": {"address": "bob@example.com", "name": "Bob"}}]
    assert base64.b64decode(sent["attachments"][0]["contentBytes"]) == PDF


def test_a_draft_is_filed_in_outlook_and_its_id_returned(standin, tokens):
    draft_id = graph.create_draft(tokens, composed())

    draft = standin.drafts[draft_id]
    assert draft["isDraft"] is True
    assert draft["subject"] == "Votre devis D-2026-014 — Élan SRL"
    assert draft["internetMessageId"].startswith("<")
    assert base64.b64decode(draft["attachments"][0]["contentBytes"]) == PDF
    assert graph_requests(standin) == [("POST", "/v1.0/me/messages")]


def test_a_draft_may_have_no_recipient_yet_but_a_sent_mail_must(standin, tokens):
    message = composed()
    del message["To"], message["Cc"]

    assert graph.create_draft(tokens, message) in standin.drafts
    with pytest.raises(GraphError) as caught:
        graph.send_mail(tokens, message)

    assert caught.value.code == graph.NO_RECIPIENT
    assert graph_requests(standin) == [("POST", "/v1.0/me/messages")]


def test_a_line_break_smuggled_into_the_subject_or_a_name_adds_no_recipient(standin, tokens):
    # RFC 2047 encoded words decode to CR LF: "Hello\r\nBcc: eve@evil.example"
    raw = (
        b"To: =?utf-8?q?Bob=0D=0ABcc=3A_eve=40evil=2Eexample?= <bob@example.com>\r\n"
        b"Cc: =?utf-8?q?Carol=2C_eve=40evil=2Eexample?= <carol@example.com>\r\n"
        b"Subject: =?utf-8?b?" + base64.b64encode(b"Hello\r\nBcc: eve@evil.example") + b"?=\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n\r\nHi\r\n"
    )
    message = message_from_bytes(raw, policy=policy.default)

    graph.send_mail(tokens, message)

    sent = standin.sent[0]["message"]
    assert "\r" not in sent["subject"] and "\n" not in sent["subject"]
    assert sent["subject"] == "Hello Bcc: eve@evil.example"
    assert sent["toRecipients"] == [
        {"emailAddress": {"address": "bob@example.com", "name": "Bob Bcc: eve@evil.example"}}
    ]
    assert sent["ccRecipients"] == [
        {"emailAddress": {"address": "carol@example.com", "name": "Carol, eve@evil.example"}}
    ]
    assert "bccRecipients" not in sent


def test_an_address_that_is_not_one_is_refused_before_sending(standin, tokens):
    message = composed()
    del message["To"]
    message["To"] = "bob at example"

    with pytest.raises(GraphError) as caught:
        graph.send_mail(tokens, message)

    assert caught.value.code == graph.INVALID_RECIPIENT
    assert graph_requests(standin) == []


def test_a_four_megabyte_attachment_is_refused_before_any_request(standin, tokens):
    message = composed()
    message.add_attachment(b"\0" * (4 * 1024 * 1024), maintype="application", subtype="zip", filename="photos.zip")

    with pytest.raises(GraphError) as caught:
        graph.send_mail(tokens, message)

    assert caught.value.code == graph.ATTACHMENT_TOO_LARGE
    assert caught.value.permanent
    assert "photos.zip" in caught.value.message and "3 MB" in caught.value.message
    assert standin.requests == []


def test_attachments_that_together_exceed_the_request_limit_are_refused_before_any_request(standin, tokens):
    message = composed()
    for n in (1, 2):
        message.add_attachment(b"\1" * (2 * 1024 * 1024), maintype="image", subtype="png", filename=f"plan-{n}.png")

    with pytest.raises(GraphError) as caught:
        graph.create_draft(tokens, message)

    assert caught.value.code == graph.REQUEST_TOO_LARGE
    assert "4 MB" in caught.value.message
    assert standin.requests == []


# --- Errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code", "headers", "retry_after", "permanent", "words"),
    [
        (401, "InvalidAuthenticationToken", {}, None, True, "reconnect your Microsoft 365 account"),
        (403, "ErrorAccessDenied", {}, None, True, "Ask your administrator"),
        (413, "RequestEntityTooLarge", {}, None, True, "too large"),
        (429, "ApplicationThrottled", {"Retry-After": "7"}, 7, False, "tries again in 7 seconds"),
        (503, "serviceNotAvailable", {"Retry-After": "30"}, 30, False, "unavailable for now"),
        (400, "ErrorMessageSizeExceeded", {}, None, True, "ErrorMessageSizeExceeded"),
    ],
)
def test_each_graph_error_becomes_a_graph_error_the_user_can_act_on(
    standin, tokens, status, code, headers, retry_after, permanent, words
):
    standin.fail_next("/v1.0/me/sendMail", status, code, "developer text", headers)

    with pytest.raises(GraphError) as caught:
        graph.send_mail(tokens, composed())

    error = caught.value
    assert (error.status, error.code, error.retry_after, error.permanent) == (status, code, retry_after, permanent)
    assert words in error.message
    assert "developer text" not in error.message
    assert standin.sent == []


def test_a_throttled_draft_reports_retry_after_and_sleeps_not(standin, tokens):
    standin.fail_next("/v1.0/me/messages", 429, "ApplicationThrottled", "MailboxConcurrency", {"Retry-After": "120"})

    with pytest.raises(GraphError) as caught:
        graph.create_draft(tokens, composed())

    assert caught.value.retry_after == 120
    assert standin.drafts == {}


def test_an_expired_access_token_is_answered_401_and_asks_to_reconnect(standin, tokens):
    tokens.access_token = "standin-at-unknown"

    with pytest.raises(GraphError) as caught:
        graph.send_mail(tokens, composed())

    assert (caught.value.status, caught.value.code) == (401, "InvalidAuthenticationToken")
    assert "reconnect" in caught.value.message


def test_an_error_without_a_body_still_gives_a_message(standin, tokens):
    standin.fail_next("/v1.0/me/sendMail", 502, None)

    with pytest.raises(GraphError) as caught:
        graph.send_mail(tokens, composed())

    assert (caught.value.status, caught.value.code, caught.value.permanent) == (502, graph.UNEXPECTED_ANSWER, False)
    assert "unavailable" in caught.value.message


def test_microsoft_out_of_reach_is_a_temporary_graph_error(settings, tokens):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    settings.SUIVI_GRAPH_URL = f"https://127.0.0.1:{port}/v1.0"

    with pytest.raises(GraphError) as caught:
        graph.send_mail(tokens, composed())

    assert (caught.value.status, caught.value.code, caught.value.permanent) == (None, graph.NETWORK_FAILURE, False)
    assert "could not be reached" in caught.value.message


def test_a_graph_address_on_a_private_network_is_refused_unless_allowed(standin, settings, tokens):
    settings.SUIVI_ALLOWED_PRIVATE_HOSTS = []

    with pytest.raises(GraphError) as caught:
        graph.send_mail(tokens, composed())

    assert caught.value.code == graph.DESTINATION_REFUSED
    assert standin.requests == []


# --- The stand-in itself ----------------------------------------------------------------------


def test_the_standin_refuses_what_graph_refuses(standin, tokens):
    """The tests above are worth what the stand-in checks: unknown properties, an empty header
    collection, a non-x- header and a missing message are all 400 with Graph's error body."""

    def post(payload):
        response = http_request(
            "POST",
            f"{standin.graph_url}/me/sendMail",
            headers={"Authorization": f"Bearer {tokens.access_token}", "Content-Type": "application/json"},
            body=json.dumps(payload).encode(),
        )
        return response.status, json.loads(response.body)["error"]["code"]

    to = [{"emailAddress": {"address": "bob@example.com"}}]
    assert post({"message": {"toRecipients": to, "bogus": 1}}) == (400, "RequestBodyRead")
    assert post({"message": {"toRecipients": to, "internetMessageHeaders": []}}) == (
        400,
        "InvalidInternetMessageHeaderCollection",
    )
    headers = [{"name": "Auto-Submitted", "value": "auto-generated"}]
    assert post({"message": {"toRecipients": to, "internetMessageHeaders": headers}}) == (
        400,
        "InvalidInternetMessageHeader",
    )
    assert post({"saveToSentItems": False}) == (400, "ErrorInvalidParameter")
    assert post({"message": {"subject": "nobody"}}) == (400, "ErrorInvalidRecipients")
    assert standin.sent == []
