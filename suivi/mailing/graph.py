"""Sending through a user's Microsoft 365 mailbox with Microsoft Graph (seed item S3, "e-mail
through Outlook"): the user connects their account once (OAuth 2.0 authorisation code flow with
PKCE, through MSAL), then Suivi either sends a composed mail (``POST /me/sendMail``) or files it
in Outlook's Drafts (``POST /me/messages``), depending on the sending method.

Built against Microsoft's documented API: the identity platform's authorisation code flow and
token endpoint, Graph's ``user: sendMail`` and ``Create message`` with the ``message``,
``recipient``, ``itemBody`` and ``fileAttachment`` resources, and Graph's error body
``{"error": {"code", "message"}}``. Microsoft's servers cannot be reached from where Suivi is
developed, so this client has never talked to the real Microsoft 365: its tests run it against a
local stand-in HTTPS server (``tests/graph_standin.py``) that replays the documented request and
response shapes and checks the requests strictly. Behaviour Microsoft does not document (the
4 MB request limit, at most 5 custom headers) comes from reported answers of the real service.

Connecting, as built (a deviation from a plain "authorisation URL"): MSAL's auth-code-flow API
is used, so PKCE, the nonce and the state check come from MSAL. ``authorisation_url()`` returns
MSAL's *flow* dict; the caller keeps the whole dict in the user's server-side session (it holds
the PKCE verifier: never put it in a cookie or a page), sends the browser to ``flow["auth_uri"]``
and hands the dict back with the redirect's query parameters to ``tokens_from_code()``.

All HTTP, MSAL's included, goes through Suivi's one guarded outbound client
(``suivi.lib.network.http_request``): MSAL is given a small requests-like adapter over it. An
authority MSAL does not know (the stand-in in tests, a private cloud an operator configured) is
trusted as configured: no instance discovery, no authority validation.

Errors are ``GraphError``: its ``message`` is for the user (translated), its ``code`` is Graph's
error code, the identity platform's OAuth error, or one of Suivi's own codes (``suivi.…``) for
what is refused before any request. Retry-After is reported in ``retry_after``, never slept on.

Idempotency is the caller's: Graph cannot look a draft up by a custom header, so the caller
claims a send before calling ``send_mail`` / ``create_draft`` once, and keeps the returned draft
id. A network failure during the request leaves the outcome unknown (Graph may have accepted it).
"""

from __future__ import annotations

import base64
import email
import email.header
import email.policy
import email.utils
import json
import logging
import re
from collections.abc import Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage, Message
from typing import Any
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

from suivi.lib.network import DestinationRefused, HttpResponse, http_request

logger = logging.getLogger(__name__)

GRAPH_URL = "https://graph.microsoft.com/v1.0"
AUTHORITY = "https://login.microsoftonline.com/{tenant}"
# Delegated permissions: Mail.Send for sendMail, Mail.ReadWrite for creating drafts. MSAL adds the
# reserved scopes itself (openid, profile, offline_access: the last one brings the refresh token)
# and refuses them in this list.
SCOPES = ["Mail.Send", "Mail.ReadWrite"]

# Documented: attach a file under 3 MB in the request itself, larger ones need an upload session
# (not built). Reported by the service: "The maximum request length supported is 4MB" (413).
MAX_ATTACHMENT_BYTES = 3 * 1024 * 1024
MAX_REQUEST_BYTES = 4 * 1024 * 1024
MAX_RECIPIENTS = 500  # documented: to + cc + bcc of one message sent from Exchange Online
MAX_CUSTOM_HEADERS = 5  # reported: more gives InvalidInternetMessageHeaderCollection
REFRESH_MARGIN = timedelta(minutes=5)
MSAL_TIMEOUT = 20
GRAPH_TIMEOUT = 60  # a request may carry 4 MB

# Suivi's own error codes, for what is decided here rather than answered by Microsoft.
NOT_CONFIGURED = "suivi.notConfigured"
NETWORK_FAILURE = "suivi.networkFailure"
DESTINATION_REFUSED = "suivi.destinationRefused"
ATTACHMENT_TOO_LARGE = "suivi.attachmentTooLarge"
REQUEST_TOO_LARGE = "suivi.requestTooLarge"
INVALID_RECIPIENT = "suivi.invalidRecipient"
NO_RECIPIENT = "suivi.noRecipient"
TOO_MANY_RECIPIENTS = "suivi.tooManyRecipients"
UNEXPECTED_ANSWER = "suivi.unexpectedAnswer"
SIGN_IN_FAILED = "suivi.signInFailed"

_TEMPORARY_STATUSES = {429, 500, 502, 503, 504}
_CONTROL = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]+")
_ADDRESS = re.compile(r"[^@\s]+@[^@\s]+")
_RECONNECT_ERRORS = {"invalid_grant", "interaction_required", "consent_required", "login_required"}
_TEMPORARY_SIGN_IN_ERRORS = {"temporarily_unavailable", "server_error"}


@dataclass
class GraphTokens:
    """What Suivi keeps of a connected Microsoft 365 account (the caller stores it encrypted)."""

    access_token: str
    refresh_token: str
    expires_at: datetime  # aware, UTC
    account_email: str


class GraphError(Exception):
    """Microsoft 365 could not take the mail, or Suivi refused to ask. ``message`` is for the
    user; ``permanent`` is False when the same request may succeed later (throttled, service
    unavailable, network), after ``retry_after`` seconds when Microsoft said how long."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        retry_after: int | None = None,
        permanent: bool | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.retry_after = retry_after
        if permanent is None:
            permanent = status not in _TEMPORARY_STATUSES and code != NETWORK_FAILURE
        self.permanent = permanent

    def __repr__(self) -> str:
        return f"GraphError(status={self.status!r}, code={self.code!r}, retry_after={self.retry_after!r})"


# --- Transport -------------------------------------------------------------------------------


def _call(method: str, url: str, *, headers: dict, body: bytes | None, timeout: float) -> HttpResponse:
    """One request through the guarded client, its failures as GraphError (a network failure
    may come after the request reached Microsoft: the outcome of a send is then unknown)."""
    try:
        return http_request(method, url, headers=headers, body=body, timeout=timeout)
    except DestinationRefused as error:
        raise GraphError(
            _("Suivi is not allowed to connect to %(host)s: %(reason)s")
            % {"host": urlsplit(url).hostname, "reason": error.reason},
            code=DESTINATION_REFUSED,
        ) from error
    except OSError as error:
        logger.warning("Microsoft 365 could not be reached at %s: %r", urlsplit(url).hostname, error)
        raise GraphError(
            _("Microsoft 365 could not be reached (%(detail)s). Try again in a moment.")
            % {"detail": str(error) or type(error).__name__},
            code=NETWORK_FAILURE,
        ) from error


class _MsalResponse:
    """The response shape MSAL reads (status_code, text, headers, raise_for_status)."""

    def __init__(self, response: HttpResponse):
        self.status_code = response.status
        self.headers = dict(response.headers)
        self.text = response.body.decode("utf-8", errors="replace")

    def raise_for_status(self) -> None:
        if self.status_code >= 400:
            raise GraphError(
                _("Microsoft 365 sign-in is unavailable for now (HTTP %(status)s). Try again later.")
                % {"status": self.status_code},
                status=self.status_code,
                code=SIGN_IN_FAILED,
            )


class _MsalHttpClient:
    """The requests-like ``http_client`` given to MSAL, so that sign-in and token refresh go
    through the guarded client like every other outbound request."""

    def get(self, url, params=None, headers=None, **kwargs):
        return self._send("GET", url, params=params, data=None, headers=headers)

    def post(self, url, params=None, data=None, headers=None, **kwargs):
        return self._send("POST", url, params=params, data=data, headers=headers)

    def close(self) -> None:
        pass

    def _send(self, method, url, *, params, data, headers):
        if params:
            url += ("&" if "?" in url else "?") + urlencode(params)
        sent_headers = {str(k): str(v) for k, v in (headers or {}).items() if v is not None}
        body: bytes | None
        if isinstance(data, Mapping):
            body = urlencode({k: v for k, v in data.items() if v is not None}).encode("ascii")
            if not any(k.lower() == "content-type" for k in sent_headers):
                sent_headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif isinstance(data, str):
            body = data.encode("utf-8")
        else:
            body = data
        response = _call(method, url, headers=sent_headers, body=body, timeout=MSAL_TIMEOUT)
        return _MsalResponse(response)


# --- Connecting the account ------------------------------------------------------------------


def _authority() -> str:
    configured = getattr(settings, "SUIVI_MS_AUTHORITY", None)
    if configured:
        return configured.rstrip("/")
    return AUTHORITY.format(tenant=getattr(settings, "SUIVI_MS_TENANT", None) or "common")


def _graph_url() -> str:
    return (getattr(settings, "SUIVI_GRAPH_URL", None) or GRAPH_URL).rstrip("/")


def _msal_app():
    """A confidential client made for this one operation: its in-memory token cache never
    mixes users, and Suivi keeps the tokens itself (GraphTokens)."""
    import msal
    from msal.authority import WELL_KNOWN_AUTHORITY_HOSTS

    client_id = getattr(settings, "SUIVI_MS_CLIENT_ID", "")
    secret = getattr(settings, "SUIVI_MS_CLIENT_SECRET", "")
    if not client_id or not secret:
        raise GraphError(
            _(
                "Microsoft 365 is not set up on this Suivi server: the administrator sets "
                "SUIVI_MS_CLIENT_ID and SUIVI_MS_CLIENT_SECRET."
            ),
            code=NOT_CONFIGURED,
        )
    authority = _authority()
    known = urlsplit(authority).hostname in WELL_KNOWN_AUTHORITY_HOSTS
    with _identity_platform():  # a 5xx while MSAL reads the authority's OpenID configuration
        try:
            return msal.ConfidentialClientApplication(
                client_id,
                client_credential=secret,
                authority=authority,
                http_client=_MsalHttpClient(),
                validate_authority=known,
                instance_discovery=None if known else False,
                token_cache=msal.TokenCache(),
            )
        except ValueError as error:  # MSAL: no OpenID configuration at that authority, a bad URL
            logger.warning("Microsoft 365 authority %s refused: %s", authority, error)
            raise GraphError(
                _("Microsoft 365 sign-in is misconfigured on this Suivi server (SUIVI_MS_AUTHORITY, SUIVI_MS_TENANT)."),
                code=SIGN_IN_FAILED,
            ) from error


@contextmanager
def _identity_platform():
    """MSAL's own failures as GraphError: a 5xx of the identity platform (MsalServiceError), an
    answer that is not the documented JSON (ValueError)."""
    from msal.exceptions import MsalServiceError

    try:
        yield
    except MsalServiceError as error:
        logger.warning("Microsoft 365 sign-in unavailable: %s", error)
        raise GraphError(
            _("Microsoft 365 sign-in is unavailable for now. Try again in a moment."),
            code=SIGN_IN_FAILED,
            permanent=False,
        ) from error
    except ValueError as error:
        logger.warning("Microsoft 365 sign-in answered in an unexpected way: %s", error)
        raise GraphError(
            _("Microsoft 365 sign-in answered in a way Suivi does not understand. Try again in a moment."),
            code=UNEXPECTED_ANSWER,
            permanent=False,
        ) from error


def authorisation_url(*, redirect_uri: str, state: str) -> dict:
    """Start connecting a Microsoft 365 account. Returns MSAL's auth-code flow (a JSON-safe
    dict): send the browser to ``flow["auth_uri"]`` and keep the whole dict in the user's
    server-side session for ``tokens_from_code``. ``state`` is the caller's anti-forgery value;
    MSAL checks it again when the browser comes back."""
    app = _msal_app()
    # The code comes back in the query string, not as the recommended form_post (MSAL warns):
    # Microsoft's cross-site POST would arrive without Django's SameSite=Lax session cookie, and
    # the session holds the flow. A code seen in the query is useless without the PKCE verifier,
    # which never leaves the server.
    with _identity_platform():
        return app.initiate_auth_code_flow(SCOPES, redirect_uri=redirect_uri, state=state, response_mode="query")


def tokens_from_code(flow: dict, query: Mapping[str, str]) -> GraphTokens:
    """Finish connecting: ``query`` holds the redirect's parameters (``code`` and ``state``, or
    ``error`` when the user declined). The code is exchanged with its PKCE verifier."""
    if not flow or not flow.get("state") or query.get("state") != flow.get("state"):
        raise GraphError(
            _("This Microsoft 365 sign-in does not match the one Suivi started. Connect the account again."),
            code=SIGN_IN_FAILED,
        )
    app = _msal_app()
    try:
        with _identity_platform():
            result = app.acquire_token_by_auth_code_flow(dict(flow), dict(query), scopes=SCOPES)
    except RuntimeError as error:  # MSAL: the ID token's nonce is not the one sent
        raise GraphError(
            _("Microsoft 365 answered a different sign-in. Connect the account again."), code=SIGN_IN_FAILED
        ) from error
    return _tokens(result, previous=None)


def refreshed(tokens: GraphTokens) -> GraphTokens:
    """``tokens`` if the access token is good for more than 5 minutes, else fresh ones from the
    refresh token (Microsoft may rotate it: the caller stores what comes back)."""
    if tokens.expires_at - datetime.now(UTC) > REFRESH_MARGIN:
        return tokens
    app = _msal_app()
    with _identity_platform():
        result = app.acquire_token_by_refresh_token(tokens.refresh_token, scopes=SCOPES)
    return _tokens(result, previous=tokens)


def _tokens(result: dict, *, previous: GraphTokens | None) -> GraphTokens:
    if "access_token" not in result:
        raise _sign_in_error(result)
    claims = result.get("id_token_claims") or {}
    account = claims.get("preferred_username") or claims.get("email") or (previous.account_email if previous else "")
    refresh_token = result.get("refresh_token") or (previous.refresh_token if previous else "")
    if not refresh_token:
        raise GraphError(
            _("Microsoft 365 gave no lasting access (no refresh token). Connect the account again."),
            code=SIGN_IN_FAILED,
        )
    return GraphTokens(
        access_token=result["access_token"],
        refresh_token=refresh_token,
        expires_at=datetime.now(UTC) + timedelta(seconds=int(result.get("expires_in") or 0)),
        account_email=account,
    )


def _sign_in_error(result: dict) -> GraphError:
    code = result.get("error") or SIGN_IN_FAILED
    logger.warning("Microsoft 365 sign-in refused: %s %s", code, result.get("error_description", "")[:300])
    if code in _RECONNECT_ERRORS:
        message = _("Microsoft 365 no longer accepts Suivi's access: reconnect your Microsoft 365 account.")
    elif code == "access_denied":
        message = _("The Microsoft 365 sign-in was cancelled or refused: the account is not connected.")
    elif code in _TEMPORARY_SIGN_IN_ERRORS:
        return GraphError(
            _("Microsoft 365 sign-in is unavailable for now. Try again in a moment."), code=code, permanent=False
        )
    else:
        message = _("Microsoft 365 refused the sign-in (%(code)s). Connect the account again.") % {"code": code}
    return GraphError(message, code=code)


# --- The message resource --------------------------------------------------------------------


def _one_line(value: str) -> str:
    """Header text as one line: a CR/LF decoded from an encoded word cannot start a header."""
    return _CONTROL.sub(" ", value).strip()


def _as_email_message(message: Message) -> EmailMessage:
    if isinstance(message, EmailMessage) and getattr(message.policy, "header_factory", None) is not None:
        return message
    # A compat32 message (Django's EmailMessage.message()): read again with the modern API.
    reread = email.message_from_bytes(message.as_bytes(), policy=email.policy.default)
    assert isinstance(reread, EmailMessage)  # what policy.default's message factory makes
    return reread


def _decoded(raw: str) -> str:
    """A raw header value, RFC 2047 encoded words decoded, as one line."""
    try:
        text = str(email.header.make_header(email.header.decode_header(str(raw))))
    except (LookupError, UnicodeError, ValueError):  # an unknown charset, a broken encoded word
        text = str(raw)
    return _one_line(text)


def _raw_values(message: EmailMessage, header: str) -> list[str]:
    """The header's values as stored: parsing them with the modern API would refuse (raise on) a
    CR/LF hidden in an encoded word instead of neutralising it."""
    return [str(value) for name, value in message.raw_items() if name.lower() == header.lower()]


def _recipients(message: EmailMessage, header: str) -> list[dict]:
    """Recipients of ``header``: the address structure is parsed while encoded words are still
    encoded (so a decoded comma or CR/LF cannot add a recipient), then each name is decoded."""
    found = []
    for name, address in email.utils.getaddresses([_one_line(v) for v in _raw_values(message, header)]):
        address, name = _one_line(address), _decoded(name)
        if not address:
            continue
        if not _ADDRESS.fullmatch(address):
            raise GraphError(
                _("“%(address)s” is not an e-mail address: the message was not sent.") % {"address": address},
                code=INVALID_RECIPIENT,
            )
        email_address = {"address": address}
        if name:
            email_address["name"] = name
        found.append({"emailAddress": email_address})
    return found


def _attachment(part: EmailMessage) -> dict:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):  # a leaf part decodes to bytes
        payload = b""
    name = _one_line(part.get_filename() or "") or _("attachment")
    if len(payload) > MAX_ATTACHMENT_BYTES:
        raise GraphError(
            _(
                "The attachment “%(name)s” weighs %(size)s: Microsoft 365 takes attachments of at most "
                "3 MB with the message. Send it another way, or share a link to it."
            )
            % {"name": name, "size": filesizeformat(len(payload))},
            code=ATTACHMENT_TOO_LARGE,
        )
    resource: dict[str, Any] = {
        "@odata.type": "#microsoft.graph.fileAttachment",
        "name": name,
        "contentType": part.get_content_type(),
        "contentBytes": base64.b64encode(payload).decode("ascii"),
    }
    content_id = " ".join(_raw_values(part, "Content-ID")[:1]).strip().strip("<>")
    content_id = _one_line(content_id)
    if content_id and part.get_content_disposition() != "attachment":
        resource["isInline"] = True
        resource["contentId"] = content_id
    return resource


def message_resource(message: Message) -> dict:
    """Graph's JSON ``message`` resource for ``message``: subject, body (HTML when the message
    has an HTML part, else text), recipients, reply-to, file attachments and the X- headers.
    From, Date and Message-ID are Microsoft's to set. Refuses (GraphError) what Graph would."""
    message = _as_email_message(message)
    body_part = message.get_body(preferencelist=("html", "plain"))
    body: dict[str, str] = {"contentType": "Text", "content": ""}
    if body_part is not None:
        html = body_part.get_content_type() == "text/html"
        body = {"contentType": "HTML" if html else "Text", "content": body_part.get_content()}
    subject = " ".join(_decoded(value) for value in _raw_values(message, "Subject")[:1])
    resource: dict[str, Any] = {"subject": subject, "body": body}
    for header, field in (
        ("To", "toRecipients"),
        ("Cc", "ccRecipients"),
        ("Bcc", "bccRecipients"),
        ("Reply-To", "replyTo"),
    ):
        recipients = _recipients(message, header)
        if recipients:
            resource[field] = recipients
    count = sum(len(resource.get(f, [])) for f in ("toRecipients", "ccRecipients", "bccRecipients"))
    if count > MAX_RECIPIENTS:
        raise GraphError(
            _("This message has %(count)s recipients: Microsoft 365 sends to at most %(max)s at once.")
            % {"count": count, "max": MAX_RECIPIENTS},
            code=TOO_MANY_RECIPIENTS,
        )
    attachments = [
        _attachment(part)
        for part in message.walk()
        if not part.is_multipart() and part is not body_part and _is_attachment(part)
    ]
    if attachments:
        resource["attachments"] = attachments
    headers = [
        {"name": _one_line(name), "value": _decoded(value)}
        for name, value in message.raw_items()
        if name.lower().startswith("x-")
    ]
    if len(headers) > MAX_CUSTOM_HEADERS:
        logger.warning("Only the first %s of %s X- headers go to Microsoft 365", MAX_CUSTOM_HEADERS, len(headers))
        headers = headers[:MAX_CUSTOM_HEADERS]
    if headers:  # an empty collection is refused by Graph
        resource["internetMessageHeaders"] = headers
    return resource


def _is_attachment(part: EmailMessage) -> bool:
    """A leaf that is not a body: a file, an inline image; text parts without a file name
    are the body's alternatives."""
    if part.get_content_disposition() == "attachment" or part.get_filename():
        return True
    return part.get_content_maintype() != "text"


# --- Sending ---------------------------------------------------------------------------------


def send_mail(tokens: GraphTokens, message: Message, *, save_to_sent: bool = True) -> None:
    """Send ``message`` from the connected mailbox (``POST /me/sendMail``). Returns once
    Microsoft accepted it (202): delivery goes on on their side."""
    resource = message_resource(message)
    if not any(resource.get(f) for f in ("toRecipients", "ccRecipients", "bccRecipients")):
        raise GraphError(_("This message has no recipient: nothing was sent."), code=NO_RECIPIENT)
    payload: dict[str, Any] = {"message": resource}
    if not save_to_sent:
        payload["saveToSentItems"] = False  # documented: specify it only when false
    response = _post(tokens, "/me/sendMail", payload)
    if not 200 <= response.status < 300:
        raise _graph_error(response, sending=True)


def create_draft(tokens: GraphTokens, message: Message) -> str:
    """File ``message`` in the mailbox's Drafts (``POST /me/messages``) and return the draft's
    Graph id. Call it once per claimed send and keep the id: Graph has no lookup by X-Suivi-Id."""
    response = _post(tokens, "/me/messages", message_resource(message))
    if response.status != 201:
        raise _graph_error(response, sending=False)
    try:
        created = json.loads(response.body)
        draft_id = created["id"]
    except (ValueError, KeyError, TypeError) as error:
        raise GraphError(
            _("Microsoft 365 answered in a way Suivi does not understand: check the draft in Outlook."),
            status=response.status,
            code=UNEXPECTED_ANSWER,
        ) from error
    logger.info("Draft %s created in Microsoft 365 (%s)", draft_id, created.get("internetMessageId", ""))
    return draft_id


def _post(tokens: GraphTokens, path: str, payload: dict) -> HttpResponse:
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    if len(body) > MAX_REQUEST_BYTES:
        raise GraphError(
            _(
                "This message and its attachments weigh %(size)s once encoded: Microsoft 365 takes at "
                "most 4 MB at once. Remove an attachment, or send it another way."
            )
            % {"size": filesizeformat(len(body))},
            code=REQUEST_TOO_LARGE,
        )
    headers = {
        "Authorization": f"Bearer {tokens.access_token}",
        "Content-Type": "application/json",
        "Accept": "application/json",
    }
    return _call("POST", _graph_url() + path, headers=headers, body=body, timeout=GRAPH_TIMEOUT)


def _retry_after(headers: Mapping[str, str]) -> int | None:
    value = (headers.get("retry-after") or "").strip()
    if not value:
        return None
    if value.isdigit():
        return int(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0, int((when - datetime.now(UTC)).total_seconds()))


def _graph_error(response: HttpResponse, *, sending: bool) -> GraphError:
    """Graph's documented error body ``{"error": {"code", "message"}}`` as a GraphError whose
    message a user can act on (Graph's own message is for developers: it goes to the log)."""
    status = response.status
    code = developer_message = None
    try:
        error = json.loads(response.body or b"{}").get("error") or {}
        code, developer_message = error.get("code"), error.get("message")
    except (ValueError, AttributeError):
        pass
    headers = {k.lower(): v for k, v in response.headers.items()}
    retry_after = _retry_after(headers)
    logger.warning("Microsoft Graph answered %s %s: %s", status, code, (developer_message or "")[:300])
    if status == 401:
        message = _(
            "Microsoft 365 no longer accepts Suivi's access to this mailbox (expired or revoked): "
            "reconnect your Microsoft 365 account."
        )
    elif status == 403:
        message = (
            _("Microsoft 365 does not allow this account to send mail from this mailbox. Ask your administrator.")
            if sending
            else _(
                "Microsoft 365 does not allow this account to create drafts in this mailbox. Ask your administrator."
            )
        )
    elif status == 413:
        message = _("This message is too large for Microsoft 365. Remove an attachment, or send it another way.")
    elif status == 429:
        message = (
            _("Microsoft 365 is limiting how fast this mailbox sends. Suivi tries again in %(seconds)s seconds.")
            % {"seconds": retry_after}
            if retry_after is not None
            else _("Microsoft 365 is limiting how fast this mailbox sends. Suivi tries again later.")
        )
    elif status >= 500:
        message = _("Microsoft 365 is unavailable for now. Suivi tries again later.")
    elif status in (400, 422):
        message = _("Microsoft 365 refused this message (%(code)s).") % {"code": code or status}
    else:
        message = _("Microsoft 365 answered with an unexpected error (HTTP %(status)s).") % {"status": status}
    return GraphError(message, status=status, code=code or UNEXPECTED_ANSWER, retry_after=retry_after)
