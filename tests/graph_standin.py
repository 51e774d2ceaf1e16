"""A stand-in for Microsoft's servers, for the tests of suivi.mailing.graph: one HTTPS server on
127.0.0.1 (a test certificate authority made here) that plays both the Microsoft identity
platform (OpenID discovery, /authorize, /token) and Microsoft Graph (/v1.0/me/sendMail,
/v1.0/me/messages).

It answers only with the documented shapes, and checks requests as strictly as the documentation
allows: an unknown property or a missing required one gets Graph's error body with 400, a wrong
PKCE verifier or redirect URI gets the identity platform's ``invalid_grant``. The few rules the
reference pages do not state (the 4 MB request limit, 1 to 5 x- headers) follow what the real
service is reported to answer. Failures are programmed per path with ``fail_next``.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import json
import secrets
import ssl
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

MAX_REQUEST_BYTES = 4 * 1024 * 1024

# Writable properties of Graph's message resource (v1.0); anything else is unknown to Graph.
MESSAGE_PROPERTIES = {
    "attachments",
    "bccRecipients",
    "body",
    "categories",
    "ccRecipients",
    "extensions",
    "flag",
    "from",
    "importance",
    "inferenceClassification",
    "internetMessageHeaders",
    "internetMessageId",
    "isDeliveryReceiptRequested",
    "isRead",
    "isReadReceiptRequested",
    "multiValueExtendedProperties",
    "replyTo",
    "sender",
    "singleValueExtendedProperties",
    "subject",
    "toRecipients",
}
FILE_ATTACHMENT_PROPERTIES = {"@odata.type", "name", "contentType", "contentBytes", "isInline", "contentId", "size"}
RECIPIENT_FIELDS = ("toRecipients", "ccRecipients", "bccRecipients", "replyTo")


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def make_certificates(folder: Path) -> tuple[Path, Path, Path]:
    """A test certificate authority and a server certificate for 127.0.0.1 signed by it:
    (CA file, certificate file, key file)."""
    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Suivi test authority")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_file, cert_file, key_file = folder / "ca.pem", folder / "server.pem", folder / "server.key"
    ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return ca_file, cert_file, key_file


@dataclass
class Failure:
    status: int
    body: dict | None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Grant:
    client_id: str
    redirect_uri: str
    scope: list[str]
    nonce: str
    code_challenge: str


class GraphStandIn:
    """Start with ``start()``; ``url`` is its base, ``authority`` the identity platform's
    authority for the tenant ``common``, ``graph_url`` Graph's v1.0 root."""

    tenant_id = "9c2f4a5e-1b7d-4e53-8a77-2f3c0c5d9e11"
    user = {
        "oid": "6f1d2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b",
        "preferred_username": "claire.martin@contoso.example",
        "name": "Claire Martin",
    }

    def __init__(self, folder: Path, *, client_id: str, client_secret: str):
        self.client_id = client_id
        self.client_secret = client_secret
        self.ca_file, cert_file, key_file = make_certificates(folder)
        self._context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._context.load_cert_chain(cert_file, key_file)
        self.lock = threading.Lock()
        self.requests: list[tuple[str, str]] = []  # (method, path) of every request
        self.token_requests: list[dict[str, str]] = []  # the form of every /token request
        self.sent: list[dict] = []  # the JSON body of every accepted sendMail
        self.drafts: dict[str, dict] = {}  # id -> created message
        self.grants: dict[str, Grant] = {}  # authorisation code -> what it was issued for
        self.refresh_tokens: set[str] = set()
        self.access_tokens: dict[str, float] = {}  # token -> expiry (epoch seconds)
        self.failures: dict[str, list[Failure]] = {}
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- Life ------------------------------------------------------------------------------

    def start(self) -> GraphStandIn:
        standin = self

        class Handler(_Handler):
            pass

        Handler.standin = standin
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._server.socket = self._context.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(target=self._server.serve_forever, name="graph-standin", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=10)

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self._server.server_address[1]}"

    @property
    def authority(self) -> str:
        return f"{self.url}/common"

    @property
    def graph_url(self) -> str:
        return f"{self.url}/v1.0"

    # --- Programming -----------------------------------------------------------------------

    def fail_next(
        self, path: str, status: int, code: str | None, message: str = "", headers: dict[str, str] | None = None
    ) -> None:
        """The next request to ``path`` (``/v1.0/me/sendMail``…) gets ``status`` with Graph's
        error body (none when ``code`` is None) and ``headers``."""
        body = None if code is None else graph_error_body(code, message)
        with self.lock:
            self.failures.setdefault(path, []).append(Failure(status, body, headers or {}))

    def issue_access_token(self, lifetime: int = 3599) -> str:
        token = "standin-at-" + secrets.token_urlsafe(24)
        with self.lock:
            self.access_tokens[token] = time.time() + lifetime
        return token

    def issue_refresh_token(self) -> str:
        token = "standin-rt-" + secrets.token_urlsafe(24)
        with self.lock:
            self.refresh_tokens.add(token)
        return token

    def reset(self) -> None:
        """Forget what was received and programmed (between tests); issued tokens stay valid."""
        with self.lock:
            self.requests.clear()
            self.token_requests.clear()
            self.sent.clear()
            self.drafts.clear()
            self.failures.clear()

    def revoke_all(self) -> None:
        with self.lock:
            self.access_tokens.clear()
            self.refresh_tokens.clear()

    # --- The user's browser ----------------------------------------------------------------

    def sign_in(self, auth_uri: str) -> dict[str, str]:
        """What the user's browser does: open the authorisation URL, sign in and consent (the
        stand-in takes it as done), and come back: returns the redirect's query parameters."""
        context = ssl.create_default_context(cafile=str(self.ca_file))

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args, **kwargs):
                return None

        opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=context), NoRedirect)
        try:
            opener.open(auth_uri, timeout=10)
        except urllib.error.HTTPError as answer:
            if answer.code != 302:
                raise
            location = answer.headers["Location"]
        else:
            raise AssertionError("the authorisation endpoint did not redirect")
        return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query))

    # --- Shapes ----------------------------------------------------------------------------

    def openid_configuration(self, tenant: str) -> dict:
        base = f"{self.url}/{tenant}"
        return {
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "jwks_uri": f"{base}/discovery/v2.0/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": f"{self.url}/{{tenantid}}/v2.0",
            "request_uri_parameter_supported": False,
            "userinfo_endpoint": f"{self.url}/oidc/userinfo",
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
            "http_logout_supported": True,
            "frontchannel_logout_supported": True,
            "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
            "claims_supported": [
                "sub",
                "iss",
                "cloud_instance_name",
                "aud",
                "exp",
                "iat",
                "auth_time",
                "acr",
                "nonce",
                "preferred_username",
                "name",
                "tid",
                "ver",
                "at_hash",
                "c_hash",
                "email",
            ],
            "tenant_region_scope": None,
            "cloud_instance_name": "microsoftonline.com",
            "cloud_graph_host_name": "graph.windows.net",
            "msgraph_host": "graph.microsoft.com",
        }

    def id_token(self, nonce: str | None) -> str:
        """An ID token with the v2.0 claims, unsigned (``"alg": "none"``): MSAL decodes the
        claims and checks the nonce, it does not verify signatures."""
        now = int(time.time())
        claims = {
            "aud": self.client_id,
            "iss": f"{self.url}/{self.tenant_id}/v2.0",
            "iat": now,
            "nbf": now,
            "exp": now + 3600,
            "name": self.user["name"],
            "oid": self.user["oid"],
            "preferred_username": self.user["preferred_username"],
            "sub": _b64url(hashlib.sha256(self.user["oid"].encode()).digest()),
            "tid": self.tenant_id,
            "ver": "2.0",
        }
        if nonce:
            claims["nonce"] = nonce
        header = {"typ": "JWT", "alg": "none"}
        return f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(claims).encode())}."

    def token_response(self, scope: list[str], nonce: str | None, client_info: bool) -> dict:
        body = {
            "token_type": "Bearer",
            "scope": " ".join(s for s in scope if s not in ("offline_access",)),
            "expires_in": 3599,
            "ext_expires_in": 3599,
            "access_token": self.issue_access_token(),
        }
        if "offline_access" in scope:
            body["refresh_token"] = self.issue_refresh_token()
        if "openid" in scope:
            body["id_token"] = self.id_token(nonce)
        if client_info:
            body["client_info"] = _b64url(json.dumps({"uid": self.user["oid"], "utid": self.tenant_id}).encode())
        return body


def graph_error_body(code: str, message: str) -> dict:
    return {
        "error": {
            "code": code,
            "message": message,
            "innerError": {
                "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
                "request-id": str(uuid.uuid4()),
                "client-request-id": str(uuid.uuid4()),
            },
        }
    }


def token_error_body(error: str, description: str, codes: list[int]) -> dict:
    trace, correlation = str(uuid.uuid4()), str(uuid.uuid4())
    timestamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    return {
        "error": error,
        "error_description": f"{description}\r\nTrace ID: {trace}\r\nCorrelation ID: {correlation}\r\n"
        f"Timestamp: {timestamp}",
        "error_codes": codes,
        "timestamp": timestamp,
        "trace_id": trace,
        "correlation_id": correlation,
    }


class BadRequest(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _unknown(name: str, type_name: str) -> BadRequest:
    return BadRequest(
        400,
        "RequestBodyRead",
        f"The property '{name}' does not exist on type '{type_name}'. Make sure to only use property names "
        "that are defined by the type or mark the type as open type.",
    )


def _check_keys(value: object, allowed: set[str], type_name: str) -> dict:
    if not isinstance(value, dict):
        raise BadRequest(400, "RequestBodyRead", f"A value of type '{type_name}' was expected.")
    for key in value:
        if key not in allowed:
            raise _unknown(key, type_name)
    return value


def check_message(message: object, *, sending: bool) -> dict:
    """The message resource as Graph reads it: unknown properties refused, the shapes Suivi
    sends checked (itemBody, recipient, fileAttachment, internetMessageHeader)."""
    message = _check_keys(message, MESSAGE_PROPERTIES, "microsoft.graph.message")
    if "subject" in message and not isinstance(message["subject"], str):
        raise BadRequest(400, "RequestBodyRead", "Cannot convert the literal to the expected type 'Edm.String'.")
    if "body" in message:
        body = _check_keys(message["body"], {"contentType", "content"}, "microsoft.graph.itemBody")
        if str(body.get("contentType", "")).lower() not in ("text", "html"):
            raise BadRequest(400, "RequestBodyRead", "The value of contentType is not a valid bodyType.")
        if not isinstance(body.get("content", ""), str):
            raise BadRequest(400, "RequestBodyRead", "Cannot convert the literal to the expected type 'Edm.String'.")
    for name in RECIPIENT_FIELDS:
        if name not in message:
            continue
        if not isinstance(message[name], list):
            raise BadRequest(400, "RequestBodyRead", f"A collection was expected for '{name}'.")
        for recipient in message[name]:
            recipient = _check_keys(recipient, {"emailAddress"}, "microsoft.graph.recipient")
            address = _check_keys(recipient.get("emailAddress"), {"address", "name"}, "microsoft.graph.emailAddress")
            value = address.get("address")
            if (
                not isinstance(value, str)
                or value.count("@") != 1
                or any(c.isspace() for c in value)
                or not isinstance(address.get("name", ""), str)
            ):
                raise BadRequest(400, "ErrorInvalidRecipients", "At least one recipient isn't valid.")
    if sending and not any(message.get(name) for name in ("toRecipients", "ccRecipients", "bccRecipients")):
        raise BadRequest(
            400,
            "ErrorInvalidRecipients",
            "At least one recipient isn't valid., A message can't be sent because it contains no recipients.",
        )
    for attachment in message.get("attachments", []):
        attachment = _check_keys(attachment, FILE_ATTACHMENT_PROPERTIES, "microsoft.graph.fileAttachment")
        if attachment.get("@odata.type") != "#microsoft.graph.fileAttachment":
            raise BadRequest(400, "RequestBodyRead", "An attachment without a known @odata.type.")
        if not isinstance(attachment.get("name"), str) or not attachment["name"]:
            raise BadRequest(400, "ErrorInvalidParameter", "The attachment name is missing.")
        try:
            base64.b64decode(attachment.get("contentBytes", ""), validate=True)
        except (ValueError, TypeError):
            raise BadRequest(
                400, "RequestBodyRead", "Cannot convert the literal to the expected type 'Edm.Binary'."
            ) from None
        if "isInline" in attachment and not isinstance(attachment["isInline"], bool):
            raise BadRequest(400, "RequestBodyRead", "Cannot convert the literal to the expected type 'Edm.Boolean'.")
    if "internetMessageHeaders" in message:
        headers = message["internetMessageHeaders"]
        if not isinstance(headers, list) or not 1 <= len(headers) <= 5:
            raise BadRequest(
                400,
                "InvalidInternetMessageHeaderCollection",
                "Maximum number of headers in one message should be less than or equal to 5.",
            )
        for header in headers:
            header = _check_keys(header, {"name", "value"}, "microsoft.graph.internetMessageHeader")
            name = header.get("name")
            if not isinstance(name, str) or not name.lower().startswith("x-"):
                raise BadRequest(
                    400,
                    "InvalidInternetMessageHeader",
                    f"The internet message header name '{name}' should start with 'x-' or 'X-'.",
                )
            if not isinstance(header.get("value"), str) or "\r" in header["value"] or "\n" in header["value"]:
                raise BadRequest(400, "InvalidInternetMessageHeader", "The internet message header value is invalid.")
    return message


class _Handler(BaseHTTPRequestHandler):
    standin: GraphStandIn
    server_version = "StandIn"

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass

    # --- Plumbing --------------------------------------------------------------------------

    def _answer(self, status: int, body: dict | None = None, headers: dict[str, str] | None = None) -> None:
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        if body is not None:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _path(self) -> tuple[str, dict[str, str]]:
        parts = urllib.parse.urlsplit(self.path)
        return parts.path, dict(urllib.parse.parse_qsl(parts.query))

    def _programmed_failure(self, path: str) -> bool:
        with self.standin.lock:
            queue = self.standin.failures.get(path)
            failure = queue.pop(0) if queue else None
        if failure is None:
            return False
        self._answer(failure.status, failure.body, failure.headers)
        return True

    # --- Routes ----------------------------------------------------------------------------

    def do_GET(self):  # noqa: N802 - http.server's name
        path, query = self._path()
        self.standin.requests.append(("GET", path))
        parts = path.strip("/").split("/")
        if len(parts) == 4 and parts[1:] == ["v2.0", ".well-known", "openid-configuration"]:
            return self._answer(200, self.standin.openid_configuration(parts[0]))
        if len(parts) == 4 and parts[1:] == ["oauth2", "v2.0", "authorize"]:
            return self._authorize(query)
        return self._answer(404, graph_error_body("ResourceNotFound", f"Resource not found for the segment '{path}'."))

    def do_POST(self):  # noqa: N802 - http.server's name
        path, _query = self._path()
        self.standin.requests.append(("POST", path))
        body = self._body()
        if self._programmed_failure(path):
            return
        parts = path.strip("/").split("/")
        if len(parts) == 4 and parts[1:] == ["oauth2", "v2.0", "token"]:
            return self._token(body)
        if path in ("/v1.0/me/sendMail", "/v1.0/me/messages"):
            return self._graph(path, body)
        return self._answer(404, graph_error_body("ResourceNotFound", f"Resource not found for the segment '{path}'."))

    def _authorize(self, query: dict[str, str]) -> None:
        """The sign-in page, the user signing in and consenting: redirects with a code."""
        standin = self.standin
        problems = []
        if query.get("client_id") != standin.client_id:
            problems.append("unknown client_id")
        if query.get("response_type") != "code":
            problems.append("response_type must be code")
        if not query.get("redirect_uri"):
            problems.append("redirect_uri missing")
        if query.get("code_challenge_method") != "S256" or not query.get("code_challenge"):
            problems.append("PKCE S256 expected")
        if not query.get("nonce") or not query.get("state"):
            problems.append("nonce and state expected")
        scope = query.get("scope", "").split()
        if problems:
            return self._answer(400, {"error": "invalid_request", "error_description": "; ".join(problems)})
        code = "standin-code-" + secrets.token_urlsafe(24)
        with standin.lock:
            standin.grants[code] = Grant(
                standin.client_id, query["redirect_uri"], scope, query["nonce"], query["code_challenge"]
            )
        back = {"code": code, "state": query["state"], "session_state": str(uuid.uuid4())}
        if query.get("client_info") == "1":
            back["client_info"] = _b64url(json.dumps({"uid": standin.user["oid"], "utid": standin.tenant_id}).encode())
        location = query["redirect_uri"] + ("&" if "?" in query["redirect_uri"] else "?") + urllib.parse.urlencode(back)
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _token(self, body: bytes) -> None:
        standin = self.standin
        if "application/x-www-form-urlencoded" not in (self.headers.get("Content-Type") or ""):
            return self._answer(
                400, token_error_body("invalid_request", "AADSTS900144: The request body must contain form data.", [])
            )
        form = dict(urllib.parse.parse_qsl(body.decode()))
        standin.token_requests.append(form)
        if form.get("client_id") != standin.client_id or form.get("client_secret") != standin.client_secret:
            return self._answer(
                401,
                token_error_body("invalid_client", "AADSTS7000215: Invalid client secret provided.", [7000215]),
            )
        scope = form.get("scope", "").split()
        client_info = form.get("client_info") == "1"
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            with standin.lock:
                grant = standin.grants.pop(form.get("code", ""), None)  # a code is used once
            if grant is None:
                return self._answer(
                    400,
                    token_error_body(
                        "invalid_grant", "AADSTS70008: The provided authorization code is expired.", [70008]
                    ),
                )
            verifier = form.get("code_verifier", "")
            if _b64url(hashlib.sha256(verifier.encode()).digest()) != grant.code_challenge:
                return self._answer(
                    400,
                    token_error_body("invalid_grant", "AADSTS501481: The Code_Verifier does not match.", [501481]),
                )
            if form.get("redirect_uri") != grant.redirect_uri:
                return self._answer(
                    400, token_error_body("invalid_grant", "AADSTS50148: The redirect_uri does not match.", [50148])
                )
            return self._answer(200, standin.token_response(scope or grant.scope, grant.nonce, client_info))
        if grant_type == "refresh_token":
            with standin.lock:
                known = form.get("refresh_token") in standin.refresh_tokens
            if not known:
                return self._answer(
                    400,
                    token_error_body(
                        "invalid_grant",
                        "AADSTS700082: The refresh token has expired due to inactivity.",
                        [700082],
                    ),
                )
            return self._answer(200, standin.token_response(scope, None, client_info))
        return self._answer(
            400,
            token_error_body(
                "unsupported_grant_type", "AADSTS70003: The app requested an unsupported grant type.", [70003]
            ),
        )

    def _graph(self, path: str, body: bytes) -> None:
        standin = self.standin
        authorization = self.headers.get("Authorization") or ""
        token = authorization.removeprefix("Bearer ") if authorization.startswith("Bearer ") else ""
        with standin.lock:
            expiry = standin.access_tokens.get(token)
        if not token:
            return self._answer(401, graph_error_body("InvalidAuthenticationToken", "Access token is empty."))
        if expiry is None or expiry < time.time():
            return self._answer(
                401, graph_error_body("InvalidAuthenticationToken", "Access token has expired or is not yet valid.")
            )
        if len(body) > MAX_REQUEST_BYTES:
            return self._answer(
                413, graph_error_body("RequestEntityTooLarge", "The maximum request length supported is 4MB.")
            )
        if not (self.headers.get("Content-Type") or "").startswith("application/json"):
            return self._answer(
                415, graph_error_body("UnsupportedMediaType", "Use application/json for a JSON request body.")
            )
        try:
            payload = json.loads(body)
            if path == "/v1.0/me/sendMail":
                payload = _check_keys(payload, {"message", "saveToSentItems"}, "microsoft.graph.sendMail")
                if "message" not in payload:
                    raise BadRequest(400, "ErrorInvalidParameter", "The value of the parameter 'Message' is empty.")
                if "saveToSentItems" in payload and not isinstance(payload["saveToSentItems"], bool):
                    raise BadRequest(
                        400, "RequestBodyRead", "Cannot convert the literal to the expected type 'Edm.Boolean'."
                    )
                check_message(payload["message"], sending=True)
            else:
                check_message(payload, sending=False)
        except ValueError:
            return self._answer(400, graph_error_body("BadRequest", "Unable to read JSON request payload."))
        except BadRequest as problem:
            return self._answer(problem.status, graph_error_body(problem.code, problem.message))
        if path == "/v1.0/me/sendMail":
            with standin.lock:
                standin.sent.append(payload)
            return self._answer(202)
        return self._answer(201, self._created(payload))

    def _created(self, message: dict) -> dict:
        """The created draft as Graph returns it (201)."""
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        draft_id = "AAMkAD" + _b64url(secrets.token_bytes(24)) + "AAA="
        body = message.get("body", {"contentType": "text", "content": ""})
        user = self.standin.user["oid"]
        created = {
            "@odata.context": f"{self.standin.graph_url}/$metadata#users('{user}')/messages/$entity",
            "@odata.etag": 'W/"CQAAABYAAAC4ofQHEIqCSbQPot83AFcbAAAnjjuE"',
            "id": draft_id,
            "createdDateTime": now,
            "lastModifiedDateTime": now,
            "changeKey": "CQAAABYAAAC4ofQHEIqCSbQPot83AFcbAAAnjjuE",
            "categories": [],
            "receivedDateTime": now,
            "sentDateTime": now,
            "hasAttachments": bool(message.get("attachments")),
            "internetMessageId": f"<{secrets.token_hex(12).upper()}@STANDIN01.eurprd01.prod.outlook.com>",
            "subject": message.get("subject", ""),
            "bodyPreview": body.get("content", "")[:255],
            "importance": "normal",
            "parentFolderId": "AAMkADhAAAAAAEPAAA=",
            "conversationId": "AAQkAD" + _b64url(secrets.token_bytes(12)),
            "isDeliveryReceiptRequested": False,
            "isReadReceiptRequested": False,
            "isRead": True,
            "isDraft": True,
            "webLink": f"https://outlook.office365.com/owa/?ItemID={urllib.parse.quote(draft_id)}&exvsurl=1",
            "inferenceClassification": "focused",
            "body": {"contentType": body.get("contentType", "text").lower(), "content": body.get("content", "")},
            "toRecipients": message.get("toRecipients", []),
            "ccRecipients": message.get("ccRecipients", []),
            "bccRecipients": message.get("bccRecipients", []),
            "replyTo": message.get("replyTo", []),
            "flag": {"flagStatus": "notFlagged"},
        }
        with self.standin.lock:
            self.standin.drafts[draft_id] = {**created, "attachments": message.get("attachments", [])}
        return created
