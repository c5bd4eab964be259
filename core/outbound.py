"""The one way the service fetches a URL someone configured: IdP metadata, OpenID discovery and
JWKS documents, webhook deliveries.

Those URLs come from staff or customers, so a fetch must not become a way to reach what only the
server can reach (server-side request forgery): the cloud metadata service at 169.254.169.254,
the database or Redis on loopback, the private network. The guard:

- **https only** outside ``DEBUG``; plain http only to a loopback name when
  ``OUTBOUND_ALLOW_LOOPBACK`` is on (tests and local development).
- **The address actually connected to is checked**, on every connection: the name is resolved
  once, every answer is checked (no loopback, private, link-local, multicast, unspecified,
  reserved or shared addresses, IPv4 and IPv6, IPv4 inside IPv6 unwrapped), and the socket
  connects to that checked address, so a name that resolves to a public address when the URL is
  saved and to 127.0.0.1 an hour later (DNS rebinding) is refused at the moment it matters.
  Loopback is allowed only with ``OUTBOUND_ALLOW_LOOPBACK``.
- **Redirects are never followed**: a 3xx answer is returned as it is (callers treat it as a
  failure), so a good URL cannot hand the request on to a forbidden one.
- **One deadline for the whole exchange** (connect, headers, body), not per read: a watchdog
  shuts the socket down when it passes, so a server dripping one byte every two seconds is cut
  off on time. Name resolution is the system's and is not covered by the deadline.
- **A size cap** on the body.

Built on urllib3 (the library under requests): only the connection step is ours.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from django.conf import settings
from urllib3 import HTTPConnectionPool, HTTPSConnectionPool, Timeout
from urllib3.connection import HTTPConnection, HTTPSConnection

# ``resolver(host, port)``: the IP addresses (as text) ``host`` stands for. Tests inject one.
Resolver = Callable[[str, int], Sequence[str]]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

USER_AGENT = "kno2prov"


class OutboundError(OSError):
    """A fetch that did not get an answer. An ``OSError``, as network failures are."""


class OutboundRefused(OutboundError):
    """The URL or the address it leads to is not one the service may fetch."""


class OutboundTimeout(OutboundError):
    """The exchange did not finish before its deadline."""


class OutboundTooLarge(OutboundError):
    """The answer is larger than the cap."""


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


def system_resolver(host: str, port: int) -> list[str]:
    """The operating system's answer for ``host``, each address once, in its order."""
    answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in answers))


def allow_loopback() -> bool:
    return bool(getattr(settings, "OUTBOUND_ALLOW_LOOPBACK", False))


def _unwrap(address: IPAddress) -> IPAddress:
    """The IPv4 address inside an IPv4-mapped, 6to4 or Teredo IPv6 address; else ``address``."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address.sixtofour is not None:
            return address.sixtofour
        if address.teredo is not None:
            return address.teredo[1]
    return address


def address_refusal(address: IPAddress, *, loopback_allowed: bool) -> str | None:
    """Why the service may not connect to ``address``, or ``None`` when it may."""
    for candidate in (_unwrap(address),):
        if candidate.is_loopback:
            if loopback_allowed:
                continue
            return "a loopback address"
        if candidate.is_unspecified:
            return "an unspecified address"
        if candidate.is_link_local:
            return "a link-local address"
        if candidate.is_multicast:
            return "a multicast address"
        if candidate.is_private:
            return "a private address"
        if candidate.is_reserved:
            return "a reserved address"
        if not candidate.is_global:
            return "a non-public address"
    return None


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def _is_loopback_name(host: str) -> bool:
    host = host.strip("[]").rstrip(".").lower()
    literal = _literal(host)
    if literal is not None:
        return _unwrap(literal).is_loopback
    return host == "localhost" or host.endswith(".localhost")


def check_url(url: str, *, resolver: Resolver | None = None, resolve: bool = False) -> None:
    """Refuse (``OutboundRefused``) a URL the service would not fetch: a scheme other than https
    (http only under ``DEBUG``, or to a loopback name with ``OUTBOUND_ALLOW_LOOPBACK``), no host,
    or a host that is a forbidden address. With ``resolve``, also resolve the name now and check
    every answer (a check when a URL is saved; every fetch checks again when it connects)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise OutboundRefused(f"{url!r} is not a valid URL.") from exc
    host = parts.hostname or ""
    if parts.scheme not in ("http", "https") or not host:
        raise OutboundRefused("The URL must be an https URL with a host.")
    loopback_name = _is_loopback_name(host)
    if parts.scheme == "http" and not (settings.DEBUG or (loopback_name and allow_loopback())):
        raise OutboundRefused("The URL must use https.")
    if loopback_name and not allow_loopback():
        raise OutboundRefused(f"The URL's host {host} is a loopback address.")
    literal = _literal(host)
    if literal is not None:
        reason = address_refusal(literal, loopback_allowed=allow_loopback())
        if reason is not None:
            raise OutboundRefused(f"The URL's host {host} is {reason}.")
    elif resolve:
        default_port = 443 if parts.scheme == "https" else 80
        _Guard(resolver or system_resolver, allow_loopback(), 0).addresses(
            host, port or default_port
        )


@dataclass
class _Guard:
    """One fetch's policy and deadline, shared by the connections it opens."""

    resolver: Resolver
    loopback_allowed: bool
    deadline: float  # time.monotonic() value
    refusal: OutboundRefused | None = None
    expired: bool = False
    _handles: list[socket.socket] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def remaining(self) -> float:
        return max(self.deadline - time.monotonic(), 0.001)

    def addresses(self, host: str, port: int) -> list[IPAddress]:
        literal = _literal(host)
        if literal is not None:
            found = [literal]
        else:
            try:
                found = [ipaddress.ip_address(a.split("%")[0]) for a in self.resolver(host, port)]
            except (OSError, ValueError) as exc:
                raise OutboundError(f"{host} could not be resolved.") from exc
        if not found:
            raise OutboundError(f"{host} could not be resolved.")
        for address in found:
            reason = address_refusal(address, loopback_allowed=self.loopback_allowed)
            if reason is not None:
                self.refusal = OutboundRefused(f"{host} resolves to {reason} ({address}).")
                raise self.refusal
        return found

    def connect(self, host: str, port: int) -> socket.socket:
        """A socket connected to a checked address of ``host``: the only way this fetch's
        connections are made."""
        last: OSError | None = None
        for address in self.addresses(host, port):
            family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
            sock = socket.socket(family, socket.SOCK_STREAM)
            try:
                sock.settimeout(self.remaining())
                self._watch(sock)
                sock.connect((str(address), port))
            except OSError as exc:
                sock.close()
                last = exc
                continue
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return sock
        raise OutboundError(f"Could not connect to {host}:{port}.") from last

    def _watch(self, sock: socket.socket) -> None:
        # A duplicate descriptor of the same socket: TLS wrapping detaches ``sock`` itself, but a
        # shutdown through the duplicate still ends the connection under it.
        with self._lock:
            self._handles.append(sock.dup())

    def expire(self) -> None:
        with self._lock:
            self.expired = True
            for handle in self._handles:
                with contextlib.suppress(OSError):  # already closed
                    handle.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        with self._lock:
            for handle in self._handles:
                handle.close()
            self._handles.clear()


def _pool(scheme: str, host: str, port: int, guard: _Guard) -> HTTPConnectionPool:
    if scheme == "https":

        class GuardedHTTPSConnection(HTTPSConnection):
            def _new_conn(self) -> socket.socket:
                return guard.connect(self.host, self.port)

        pool: HTTPConnectionPool = HTTPSConnectionPool(host, port, maxsize=1, retries=False)
        pool.ConnectionCls = GuardedHTTPSConnection
        return pool

    class GuardedHTTPConnection(HTTPConnection):
        def _new_conn(self) -> socket.socket:
            return guard.connect(self.host, self.port)

    pool = HTTPConnectionPool(host, port, maxsize=1, retries=False)
    pool.ConnectionCls = GuardedHTTPConnection
    return pool


def fetch(
    method: str,
    url: str,
    *,
    deadline_seconds: float,
    max_bytes: int,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    resolver: Resolver | None = None,
) -> Response:
    """Send one request to ``url`` through the guard and read the whole answer.

    Raises ``OutboundRefused`` (URL or address not allowed), ``OutboundTimeout`` (not done
    within ``deadline_seconds``), ``OutboundTooLarge`` (body over ``max_bytes``) or
    ``OutboundError`` (no answer). A redirect is returned, never followed.
    """
    check_url(url)
    parts = urlsplit(url)
    scheme = parts.scheme
    host = parts.hostname or ""
    port = parts.port or (443 if scheme == "https" else 80)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    guard = _Guard(
        resolver or system_resolver, allow_loopback(), time.monotonic() + deadline_seconds
    )
    watchdog = threading.Timer(deadline_seconds, guard.expire)
    watchdog.daemon = True
    watchdog.start()
    pool = _pool(scheme, host, port, guard)
    sent = {"User-Agent": USER_AGENT, **(headers or {})}
    try:
        answer = pool.urlopen(
            method,
            target,
            body=body,
            headers=sent,
            redirect=False,
            retries=False,
            preload_content=False,
            assert_same_host=False,
            timeout=Timeout(connect=guard.remaining(), read=guard.remaining()),
        )
        try:
            declared = int(answer.headers.get("content-length", "0"))
        except ValueError:
            declared = 0
        if declared > max_bytes:
            raise OutboundTooLarge(f"The answer is larger than {max_bytes} bytes.")
        received = bytearray()
        for chunk in answer.stream(65536):
            received += chunk
            if len(received) > max_bytes:
                raise OutboundTooLarge(f"The answer is larger than {max_bytes} bytes.")
        if guard.expired:
            raise OutboundTimeout(f"No complete answer within {deadline_seconds:g} s.")
        answer.release_conn()
        return Response(answer.status, dict(answer.headers), bytes(received))
    except OutboundError:
        raise
    except Exception as exc:
        if guard.refusal is not None:
            raise guard.refusal from None
        if guard.expired or "timed out" in str(exc).lower():
            raise OutboundTimeout(f"No complete answer within {deadline_seconds:g} s.") from None
        # The class only: messages can repeat the URL, which may carry a receiver's token.
        raise OutboundError(f"The request failed ({type(exc).__name__}).") from None
    finally:
        watchdog.cancel()
        pool.close()
        guard.close()
