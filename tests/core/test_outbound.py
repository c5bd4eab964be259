"""The guarded outbound client: what it refuses to reach, and how it bounds an exchange.

Every test talks to 127.0.0.1 only: with ``OUTBOUND_ALLOW_LOOPBACK`` off (the guard must refuse
before connecting, which the listener counts), or on (to reach a misbehaving server). Names are
resolved through a test resolver; a public answer is never connected to.
"""

from __future__ import annotations

import ipaddress
import time

import pytest

from core import outbound
from tests.outbound_servers import Listener, MisbehavingServer

PUBLIC = "52.96.0.10"  # never connected to: each test refuses before, or uses only it to check


@pytest.fixture
def listener():
    running = Listener()
    yield running
    running.close()


@pytest.fixture
def server():
    running = MisbehavingServer()
    yield running
    running.stop()


@pytest.fixture
def loopback_off(settings):
    settings.OUTBOUND_ALLOW_LOOPBACK = False
    settings.DEBUG = False


@pytest.fixture
def loopback_on(settings):
    settings.OUTBOUND_ALLOW_LOOPBACK = True
    settings.DEBUG = False


def answers(*sequence: list[str]):
    """A resolver giving each answer in turn (the last one repeats), counting its calls."""
    calls: list[str] = []

    def resolve(host: str, port: int) -> list[str]:
        calls.append(host)
        return sequence[min(len(calls), len(sequence)) - 1]

    resolve.calls = calls
    return resolve


def fetch(url: str, **kwargs) -> outbound.Response:
    return outbound.fetch("GET", url, deadline_seconds=5, max_bytes=10_000, **kwargs)


def test_plain_http_to_loopback_is_refused_without_the_setting(loopback_off, listener):
    with pytest.raises(outbound.OutboundRefused):
        fetch(f"http://127.0.0.1:{listener.port}/")
    assert listener.connections() == 0


def test_https_to_loopback_is_refused_without_the_setting(loopback_off, listener):
    with pytest.raises(outbound.OutboundRefused):
        fetch(f"https://127.0.0.1:{listener.port}/")
    assert listener.connections() == 0


def test_a_name_resolving_to_loopback_is_refused_before_connecting(loopback_off, listener):
    resolver = answers(["127.0.0.1"])
    with pytest.raises(outbound.OutboundRefused, match="loopback"):
        fetch(f"https://idp.example.test:{listener.port}/metadata", resolver=resolver)
    assert resolver.calls == ["idp.example.test"]
    assert listener.connections() == 0


def test_an_ipv4_mapped_loopback_answer_is_refused(loopback_off, listener):
    with pytest.raises(outbound.OutboundRefused, match="loopback"):
        fetch(
            f"https://idp.example.test:{listener.port}/",
            resolver=answers(["::ffff:127.0.0.1"]),
        )
    assert listener.connections() == 0


def test_one_forbidden_answer_among_public_ones_refuses_the_name(loopback_off, listener):
    with pytest.raises(outbound.OutboundRefused, match="loopback"):
        fetch(
            f"https://idp.example.test:{listener.port}/",
            resolver=answers([PUBLIC, "127.0.0.1"]),
        )
    assert listener.connections() == 0


def test_a_name_rebound_to_loopback_after_the_check_is_refused_at_connect_time(
    loopback_off, listener
):
    """DNS rebinding: the name is public when the URL is saved, loopback at the next fetch."""
    resolver = answers([PUBLIC], ["127.0.0.1"])
    url = f"https://rebind.example.test:{listener.port}/metadata"
    outbound.check_url(url, resolver=resolver, resolve=True)
    with pytest.raises(outbound.OutboundRefused, match="loopback"):
        fetch(url, resolver=resolver)
    assert len(resolver.calls) == 2
    assert listener.connections() == 0


@pytest.mark.parametrize(
    "address",
    [
        "169.254.169.254",  # the cloud metadata service
        "10.0.0.5",
        "172.16.3.4",
        "192.168.1.1",
        "100.64.0.1",  # carrier-grade NAT
        "0.0.0.0",  # noqa: S104 (an address under test, not a bind)
        "224.0.0.251",
        "240.0.0.1",
        "::",
        "fe80::1",
        "fd00::1",
        "ff02::1",
        "::ffff:169.254.169.254",
        "::ffff:10.0.0.5",
        "2002:a9fe:a9fe::1",  # 6to4 around 169.254.169.254
    ],
)
def test_non_public_addresses_are_refused(loopback_off, address):
    reason = outbound.address_refusal(ipaddress.ip_address(address), loopback_allowed=True)
    assert reason is not None


@pytest.mark.parametrize("address", ["127.0.0.1", "::1", "::ffff:127.0.0.1"])
def test_loopback_is_refused_unless_allowed(address):
    assert outbound.address_refusal(ipaddress.ip_address(address), loopback_allowed=False)
    assert outbound.address_refusal(ipaddress.ip_address(address), loopback_allowed=True) is None


@pytest.mark.parametrize("address", ["52.96.0.10", "20.190.128.1", "2603:1006:2000::1"])
def test_public_addresses_are_allowed(address):
    assert outbound.address_refusal(ipaddress.ip_address(address), loopback_allowed=False) is None


@pytest.mark.parametrize(
    "url",
    [
        "http://idp.example.com/metadata",
        "ftp://idp.example.com/metadata",
        "https://169.254.169.254/latest/meta-data/",
        "https://[::ffff:a9fe:a9fe]/latest/",
        "https://10.1.2.3/hook",
        "https://localhost/hook",
    ],
)
def test_urls_the_service_must_not_fetch_are_refused_before_resolving(loopback_off, url):
    resolver = answers([PUBLIC])
    with pytest.raises(outbound.OutboundRefused):
        outbound.check_url(url, resolver=resolver, resolve=True)
    assert resolver.calls == []


def test_plain_http_to_a_public_name_stays_refused_with_the_loopback_setting(loopback_on):
    with pytest.raises(outbound.OutboundRefused, match="https"):
        outbound.check_url("http://hooks.example.com/receive")


def test_a_redirect_is_answered_but_never_followed(loopback_on, server, listener):
    server.redirect_to = f"http://127.0.0.1:{listener.port}/internal"
    answer = fetch(f"{server.base}/redirect")
    assert answer.status == 302
    assert listener.connections() == 0


def test_a_slow_drip_is_cut_off_at_the_overall_deadline(loopback_on, server):
    """One byte every half second never trips a per-read timeout; the deadline ends it."""
    started = time.monotonic()
    with pytest.raises(outbound.OutboundTimeout):
        outbound.fetch("GET", f"{server.base}/drip", deadline_seconds=1.5, max_bytes=10_000)
    # The whole drip takes 20 s: ending in under half of it is the deadline's doing, with room
    # for a loaded machine.
    assert time.monotonic() - started < 10


def test_a_body_over_the_cap_is_refused(loopback_on, server):
    with pytest.raises(outbound.OutboundTooLarge):
        outbound.fetch("GET", f"{server.base}/big", deadline_seconds=5, max_bytes=1000)


def test_an_allowed_loopback_fetch_returns_the_answer(loopback_on, server):
    answer = fetch(f"{server.base}/ok")
    assert (answer.status, answer.body) == (200, b"hello")
