"""The outbound connection guard (S6): private, loopback, link-local, multicast, reserved and unspecified
addresses are refused unless an administrator allows them; http_request goes through the guard, follows no
redirect and caps what it reads."""

import http.server
import ipaddress
import socket
import ssl
import threading

import pytest

from suivi.lib import network
from suivi.lib.network import DestinationRefused, ResponseTooLarge, allowed_addresses, connect_guarded, http_request

from .mailservers import self_signed_certificate

REFUSED = [
    "127.0.0.1",
    "127.255.0.9",
    "10.0.0.1",
    "10.255.255.255",
    "172.16.0.1",
    "172.31.255.254",
    "192.168.1.1",
    "169.254.169.254",  # cloud metadata
    "169.254.0.1",
    "100.64.0.1",  # shared address space (carrier-grade NAT)
    "0.0.0.0",
    "0",  # getaddrinfo reads it as 0.0.0.0
    "2130706433",  # 127.0.0.1 written as one integer
    "224.0.0.1",
    "239.255.255.250",
    "240.0.0.1",
    "255.255.255.255",
    "192.0.2.10",  # documentation
    "::1",
    "::",
    "fc00::1",
    "fd12:3456::1",
    "fe80::1",
    "ff02::1",
    "::ffff:127.0.0.1",  # IPv4-mapped IPv6
    "::ffff:10.0.0.1",
    "::ffff:169.254.169.254",
    "2002:7f00:1::1",  # 6to4 wrapping 127.0.0.1
    "64:ff9b::a00:1",  # NAT64 wrapping 10.0.0.1
    "[::1]",
]


@pytest.fixture(autouse=True)
def _nothing_allowed(settings):
    settings.SUIVI_ALLOWED_PRIVATE_HOSTS = []


@pytest.mark.parametrize("host", REFUSED)
def test_a_private_local_or_reserved_address_is_refused_with_a_message_naming_it(host):
    with pytest.raises(DestinationRefused) as caught:
        allowed_addresses(host, 993)
    error = caught.value
    assert error.problem == "private" and error.host == host
    assert host in error.reason and "SUIVI_ALLOWED_PRIVATE_HOSTS" in error.reason and "private" in error.reason


@pytest.mark.parametrize("host", ["93.184.215.14", "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8"])
def test_a_public_address_passes(host):
    ((_family, _type, _proto, _canon, sockaddr),) = allowed_addresses(host, 443)
    assert ipaddress.ip_address(sockaddr[0]) == ipaddress.ip_address(host)


def test_a_name_that_resolves_to_loopback_is_refused():
    with pytest.raises(DestinationRefused) as caught:
        allowed_addresses("localhost", 143)
    assert caught.value.problem == "private" and "127.0.0.1" in caught.value.reason


def test_a_name_that_does_not_resolve_is_a_dns_problem_and_so_is_an_empty_name():
    for host in ["no-such-host.invalid", "", "  ", "bad..name"]:
        with pytest.raises(DestinationRefused) as caught:
            allowed_addresses(host, 143)
        assert caught.value.problem == "dns", host
        assert "DNS" in caught.value.reason or "No server name" in caught.value.reason


@pytest.mark.parametrize(
    ("allow", "host"),
    [
        (["localhost"], "localhost"),
        (["LocalHost."], "localhost"),
        (["127.0.0.1"], "127.0.0.1"),
        (["127.0.0.1"], "localhost"),
        (["127.0.0.0/8"], "127.0.0.5"),
        (["10.0.0.0/8", "192.168.0.0/16"], "192.168.3.4"),
        (["::1"], "::1"),
        (["fd00::/8"], "fd12::1"),
        (["127.0.0.1"], "::ffff:127.0.0.1"),  # the same destination written as IPv6
    ],
)
def test_an_administrator_allows_a_private_host_by_name_address_or_network(settings, allow, host):
    settings.SUIVI_ALLOWED_PRIVATE_HOSTS = allow
    assert allowed_addresses(host, 143)


def test_the_allow_list_opens_only_what_it_names(settings):
    settings.SUIVI_ALLOWED_PRIVATE_HOSTS = ["127.0.0.1", "10.1.0.0/16", "mail.internal.example"]
    for host in ["127.0.0.2", "10.2.0.1", "::1", "169.254.169.254", "::ffff:10.2.0.1"]:
        with pytest.raises(DestinationRefused):
            allowed_addresses(host, 143)


def test_only_the_allowed_addresses_of_a_name_are_returned(monkeypatch):
    answers = [
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.7", 143)),
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", 143)),
    ]
    monkeypatch.setattr(network.socket, "getaddrinfo", lambda *a, **k: answers)
    assert allowed_addresses("mixed.example", 143) == [answers[1]]


@pytest.fixture
def listener():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(5)
    server.setblocking(False)
    yield server
    server.close()


def test_connect_guarded_makes_no_connection_to_a_refused_host(listener):
    port = listener.getsockname()[1]
    with pytest.raises(DestinationRefused):
        connect_guarded("127.0.0.1", port, timeout=2)
    with pytest.raises(BlockingIOError):
        listener.accept()  # nobody knocked


def test_connect_guarded_connects_to_an_allowed_host(settings, listener):
    settings.SUIVI_ALLOWED_PRIVATE_HOSTS = ["127.0.0.1"]
    with connect_guarded("localhost", listener.getsockname()[1], timeout=2) as sock:
        assert sock.getpeername() == listener.getsockname()
        assert sock.gettimeout() == 2


def test_connect_guarded_resolves_once_and_connects_to_the_checked_address(settings, monkeypatch, listener):
    # DNS rebinding: a first answer that passes, a second one that points inside. Only one lookup is made.
    settings.SUIVI_ALLOWED_PRIVATE_HOSTS = ["127.0.0.1"]
    port = listener.getsockname()[1]
    calls = []

    def fake_getaddrinfo(host, *args, **kwargs):
        calls.append(host)
        target = "127.0.0.1" if len(calls) == 1 else "169.254.169.254"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (target, port))]

    monkeypatch.setattr(network.socket, "getaddrinfo", fake_getaddrinfo)
    with connect_guarded("rebinding.example", port, timeout=2) as sock:
        assert sock.getpeername() == ("127.0.0.1", port)
    assert calls == ["rebinding.example"]


def test_connect_guarded_tries_the_next_allowed_address_and_raises_the_network_error_at_the_end(
    settings, monkeypatch, listener
):
    settings.SUIVI_ALLOWED_PRIVATE_HOSTS = ["127.0.0.0/8"]
    port = listener.getsockname()[1]
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        dead_port = closed.getsockname()[1]
    answers = [
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", dead_port)),
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port)),
    ]
    monkeypatch.setattr(network.socket, "getaddrinfo", lambda *a, **k: answers)
    with connect_guarded("two.example", port, timeout=2) as sock:
        assert sock.getpeername() == ("127.0.0.1", port)
    monkeypatch.setattr(network.socket, "getaddrinfo", lambda *a, **k: answers[:1])
    with pytest.raises(ConnectionRefusedError):
        connect_guarded("one.example", dead_port, timeout=2)


# --- http_request against a small server on loopback ------------------------------------------------------


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _reply(self):
        self.server.seen.append((self.command, self.path, dict(self.headers), self._body()))
        if self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "http://93.184.215.14/elsewhere")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.path.startswith("/big"):
            size = int(self.path.rsplit("/", 1)[1])
            self.send_response(200)
            if "chunked" in self.path:
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for _ in range(size // 1000):
                    self.wfile.write(b"3e8\r\n" + b"x" * 1000 + b"\r\n")
                self.wfile.write(b"0\r\n\r\n")
            else:
                self.send_header("Content-Length", str(size))
                self.end_headers()
                self.wfile.write(b"y" * size)
        else:
            payload = b"hello " + self.path.encode()
            self.send_response(201)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("X-Suivi-Test", "yes")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    def _body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    do_GET = do_POST = _reply  # noqa: N815  (http.server's hook names)


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, tls: ssl.SSLContext | None = None):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.seen = []
        if tls is not None:
            self.socket = tls.wrap_socket(self.socket, server_side=True)

    def handle_error(self, request, client_address):
        pass  # the TLS test makes handshakes fail on purpose


@pytest.fixture
def serve():
    servers = []

    def start(tls=None):
        server = _Server(tls)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def http_server(serve):
    return serve()


def url_of(server, path):
    return f"http://127.0.0.1:{server.server_address[1]}{path}"


def test_http_request_returns_status_headers_and_body(settings, http_server):
    settings.SUIVI_ALLOWED_PRIVATE_HOSTS = ["127.0.0.1"]
    response = http_request(
        "POST", url_of(http_server, "/calendar?x=1#frag"), headers={"X-Token": "t"}, body=b'{"a": 1}'
    )
    assert response.status == 201
    assert response.headers["content-type"] == "text/plain; charset=utf-8" and response.headers["x-suivi-test"] == "yes"
    assert response.body == b"hello /calendar?x=1"
    ((method, path, headers, body),) = http_server.seen
    assert (method, path, body) == ("POST", "/calendar?x=1", b'{"a": 1}') and headers["X-Token"] == "t"


def test_http_request_does_not_follow_a_redirect(settings, http_server):
    settings.SUIVI_ALLOWED_PRIVATE_HOSTS = ["127.0.0.1"]
    response = http_request("GET", url_of(http_server, "/redirect"))
    assert response.status == 302 and response.headers["location"] == "http://93.184.215.14/elsewhere"
    assert [path for _m, path, _h, _b in http_server.seen] == ["/redirect"]


def test_http_request_caps_the_body_whether_its_length_is_declared_or_not(settings, http_server):
    settings.SUIVI_ALLOWED_PRIVATE_HOSTS = ["127.0.0.1"]
    assert len(http_request("GET", url_of(http_server, "/big/5000"), max_bytes=5000).body) == 5000
    assert len(http_request("GET", url_of(http_server, "/big-chunked/5000"), max_bytes=5000).body) == 5000
    for path in ["/big/5001", "/big-chunked/6000"]:
        with pytest.raises(ResponseTooLarge) as caught:
            http_request("GET", url_of(http_server, path), max_bytes=5000)
        assert isinstance(caught.value, DestinationRefused) and "5000 bytes" in caught.value.reason


def test_http_request_to_a_private_host_is_refused_before_any_connection(http_server):
    for url in [url_of(http_server, "/secret"), f"http://localhost:{http_server.server_address[1]}/secret"]:
        with pytest.raises(DestinationRefused) as caught:
            http_request("GET", url)
        assert caught.value.problem == "private"
    assert http_server.seen == []


@pytest.mark.parametrize(
    "url", ["ftp://93.184.215.14/file", "file:///etc/passwd", "gopher://x", "http://", "http://u:p@93.184.215.14/"]
)
def test_http_request_takes_only_plain_http_and_https_urls(url):
    with pytest.raises(DestinationRefused) as caught:
        http_request("GET", url)
    assert caught.value.problem == "url"


def tls_server(serve, cert_file, key_file):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    return serve(tls=context)


def test_https_verifies_the_certificate_and_the_host_name(settings, serve, tmp_path, monkeypatch):
    settings.SUIVI_ALLOWED_PRIVATE_HOSTS = ["127.0.0.1"]
    cert_file, key_file = self_signed_certificate(tmp_path, "localhost")
    https_server = tls_server(serve, cert_file, key_file)
    url = f"https://localhost:{https_server.server_address[1]}/tls"
    with pytest.raises(ssl.SSLCertVerificationError):  # self-signed: not trusted
        http_request("GET", url, timeout=5)
    with pytest.raises(OSError):  # plain http against a TLS server: a malformed answer, an OSError
        http_request("GET", url_of(https_server, "/"), timeout=5)
    assert https_server.seen == []
    monkeypatch.setenv("SSL_CERT_FILE", str(cert_file))  # now trusted (OpenSSL reads it for default contexts)
    assert http_request("GET", url, timeout=5).body == b"hello /tls"
    other_cert, other_key = self_signed_certificate(tmp_path, "other.example")
    impostor = tls_server(serve, other_cert, other_key)
    monkeypatch.setenv("SSL_CERT_FILE", str(other_cert))
    with pytest.raises(ssl.SSLCertVerificationError, match="mismatch"):  # trusted, but not for "localhost"
        http_request("GET", f"https://localhost:{impostor.server_address[1]}/", timeout=5)
