"""One guard for every outbound connection (security rule S6).

Users type host names (their own IMAP or SMTP server) and URLs (calendars, Microsoft Graph): Suivi never
connects to a private, loopback, link-local, multicast, reserved or unspecified address unless an
administrator listed it in ``settings.SUIVI_ALLOWED_PRIVATE_HOSTS`` (host names, IP addresses or CIDR
networks). A name is resolved once; the connection goes to the address that was checked, so a second DNS
answer cannot point it elsewhere (DNS rebinding).
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext as _

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Not covered by every Python's `is_global` / `is_private`: shared address space (carrier-grade NAT),
# and the NAT64 prefixes that embed an IPv4 address.
_SHARED_ADDRESS_SPACE = ipaddress.ip_network("100.64.0.0/10")
_CHUNK = 65536
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))


class DestinationRefused(Exception):
    """The destination is not one Suivi connects to. ``reason`` is a message for the user (translated);
    ``problem`` says why: "dns" (the name does not resolve), "private" (every address is private or local),
    "url" (not an http(s) URL) or "too_large" (the answer is bigger than allowed)."""

    def __init__(self, host: str, reason: str, problem: str = "private"):
        super().__init__(reason)
        self.host = host
        self.reason = reason
        self.problem = problem


class ResponseTooLarge(DestinationRefused):
    """An HTTP answer longer than the caller's ``max_bytes``."""

    def __init__(self, host: str, reason: str):
        super().__init__(host, reason, problem="too_large")


@dataclass
class HttpResponse:
    status: int
    headers: dict[str, str]  # lower-case names; repeated headers joined with ", "
    body: bytes


def _embedded_ipv4(ip: IPAddress) -> list[IPAddress]:
    """IPv4 addresses an IPv6 address leads to (mapped, 6to4, Teredo, NAT64)."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return []
    found: list[IPAddress] = []
    if ip.ipv4_mapped is not None:
        found.append(ip.ipv4_mapped)
    if ip.sixtofour is not None:
        found.append(ip.sixtofour)
    if ip.teredo is not None:
        found.extend(ip.teredo)
    if any(ip in net for net in _NAT64):
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return found


def _is_public(ip: IPAddress) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return _is_public(ip.ipv4_mapped)  # "::ffff:10.0.0.1" is 10.0.0.1
    if (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    ):
        return False
    if isinstance(ip, ipaddress.IPv4Address) and ip in _SHARED_ADDRESS_SPACE:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local:
        return False
    return all(_is_public(inner) for inner in _embedded_ipv4(ip))


def _normalise_host(host: str) -> str:
    host = (host or "").strip()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host.rstrip(".").lower()


def _allow_list() -> tuple[set[str], list[IPNetwork]]:
    names: set[str] = set()
    networks: list[IPNetwork] = []
    for entry in getattr(settings, "SUIVI_ALLOWED_PRIVATE_HOSTS", None) or []:
        entry = _normalise_host(str(entry))
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            names.add(entry)
    return names, networks


def _parse_ip(sockaddr_host: str) -> IPAddress:
    return ipaddress.ip_address(sockaddr_host.split("%", 1)[0])  # IPv6 scope ("fe80::1%eth0")


def _address_allowed(ip: IPAddress, networks: Iterable[IPNetwork]) -> bool:
    candidates = [ip, *_embedded_ipv4(ip)]
    return any(candidate in net for candidate in candidates for net in networks if candidate.version == net.version)


def allowed_addresses(host: str, port: int) -> list[tuple]:
    """The addresses of ``host`` Suivi may connect to, as ``getaddrinfo`` gives them (family, type, proto,
    canonname, sockaddr), in the resolver's order. Raises DestinationRefused when the name does not resolve
    or every address is refused."""
    name = _normalise_host(host)
    if not name:
        raise DestinationRefused(host, _("No server name was given: enter the name of the server."), "dns")
    try:
        infos = socket.getaddrinfo(name, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError, ValueError):
        raise DestinationRefused(
            host,
            _("The server name “%(host)s” could not be found (DNS). Check its spelling, or try again later.")
            % {"host": host},
            "dns",
        ) from None
    names, networks = _allow_list()
    if name in names:
        return list(infos)
    allowed = []
    refused = []
    for info in infos:
        try:
            ip = _parse_ip(str(info[4][0]))
        except ValueError:
            refused.append(str(info[4][0]))
            continue
        if _is_public(ip) or _address_allowed(ip, networks):
            allowed.append(info)
        else:
            refused.append(str(ip))
    if not allowed:
        if not infos:
            raise DestinationRefused(
                host,
                _("The server name “%(host)s” has no address (DNS). Check its spelling.") % {"host": host},
                "dns",
            )
        raise DestinationRefused(
            host,
            _(
                "Suivi does not connect to “%(host)s”: its address (%(addresses)s) is on a private, local or "
                "reserved network. Use the server's public name, or ask an administrator to allow it "
                "(setting SUIVI_ALLOWED_PRIVATE_HOSTS)."
            )
            % {"host": host, "addresses": ", ".join(dict.fromkeys(refused))},
            "private",
        )
    return allowed


def connect_guarded(host: str, port: int, timeout: float) -> socket.socket:
    """A TCP connection to ``host``: resolved once, checked, then each allowed address tried in order (the
    checked address itself, no second lookup). Raises DestinationRefused, or OSError when no allowed
    address accepts the connection (the last error)."""
    last_error: OSError | None = None
    for family, type_, proto, _canonname, sockaddr in allowed_addresses(host, port):
        sock = socket.socket(family, type_, proto)
        try:
            sock.settimeout(timeout)
            sock.connect(sockaddr)
        except OSError as exc:
            sock.close()
            last_error = exc
            continue
        return sock
    assert last_error is not None  # allowed_addresses returns at least one address
    raise last_error


class _GuardedConnection(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, timeout: float, tls: bool):
        super().__init__(host, port, timeout=timeout)
        self._tls = tls
        self._timeout = timeout
        if tls:
            self.default_port = 443  # "Host: example.com", not "example.com:443"

    def connect(self) -> None:
        sock = connect_guarded(self.host, self.port, self._timeout)
        if self._tls:
            context = ssl.create_default_context()  # verifies the certificate and the host name
            try:
                sock = context.wrap_socket(sock, server_hostname=self.host)
            except BaseException:
                sock.close()
                raise
        self.sock = sock


def http_request(
    method: str,
    url: str,
    *,
    headers: dict | None = None,
    body: bytes | None = None,
    timeout: float = 20,
    max_bytes: int = 10_000_000,
) -> HttpResponse:
    """One HTTP(S) request through the guard. Follows no redirects (a 3xx comes back as it is: the caller
    decides); reads at most ``max_bytes`` of body (more raises ResponseTooLarge). Raises DestinationRefused,
    or OSError for network, TLS (ssl.SSLError) and malformed answers; ``timeout`` applies to the connection
    and to each read."""
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    host = parts.hostname or ""
    if scheme not in ("http", "https") or not host:
        raise DestinationRefused(
            host or url, _("Only http:// and https:// addresses can be used (got “%(url)s”).") % {"url": url}, "url"
        )
    if parts.username is not None or parts.password is not None:
        raise DestinationRefused(
            host, _("Addresses with a user name or password inside (user:password@…) are not accepted."), "url"
        )
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError:
        raise DestinationRefused(host, _("The address “%(url)s” has an invalid port.") % {"url": url}, "url") from None
    try:
        host = host.encode("idna").decode("ascii")  # "café.example" → "xn--caf-dma.example"
    except UnicodeError:
        raise DestinationRefused(host, _("The server name “%(host)s” is not valid.") % {"host": host}, "url") from None
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    connection = _GuardedConnection(host, port, timeout, tls=scheme == "https")
    try:
        request_headers = {"Connection": "close", **(headers or {})}
        connection.request(method, target, body=body, headers=request_headers)
        response = connection.getresponse()
        declared = response.getheader("Content-Length")
        if declared and declared.strip().isdigit() and int(declared) > max_bytes:
            raise _too_large(host, max_bytes)
        chunks: list[bytes] = []
        received = 0
        while chunk := response.read(min(_CHUNK, max_bytes + 1 - received)):
            chunks.append(chunk)
            received += len(chunk)
            if received > max_bytes:
                raise _too_large(host, max_bytes)
        data = b"".join(chunks)
        response_headers: dict[str, str] = {}
        for key, value in response.getheaders():
            key = key.lower()
            response_headers[key] = f"{response_headers[key]}, {value}" if key in response_headers else value
        return HttpResponse(status=response.status, headers=response_headers, body=data)
    except http.client.HTTPException as exc:
        raise OSError(f"invalid HTTP answer from {host}: {exc!r}") from exc
    finally:
        connection.close()


def _too_large(host: str, max_bytes: int) -> ResponseTooLarge:
    return ResponseTooLarge(
        host,
        _("The server “%(host)s” sent more than %(size)s bytes; Suivi stopped reading. Try a smaller request.")
        % {"host": host, "size": max_bytes},
    )
