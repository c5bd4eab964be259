"""What the SCIM rate limits cost a call in Redis: one round trip, valid credential or not."""

import pytest
import redis
from redis.connection import AbstractConnection

from tests.scim_client import ScimClient

REDIS_TEST_URL = "redis://127.0.0.1:6379/14"


@pytest.fixture
def round_trips(settings, monkeypatch):
    """The commands sent to Redis from now on, one entry per round trip (a pipeline or a
    script is one)."""
    settings.REDIS_URL = REDIS_TEST_URL
    redis.Redis.from_url(REDIS_TEST_URL).flushdb()
    sent: list[bytes] = []
    send = AbstractConnection.send_packed_command

    def counting(self, command, check_health=True):
        sent.append(command)
        return send(self, command, check_health)

    monkeypatch.setattr(AbstractConnection, "send_packed_command", counting)
    yield sent
    redis.Redis.from_url(REDIS_TEST_URL).flushdb()


@pytest.mark.django_db
def test_an_authenticated_call_checks_both_rate_limits_in_one_round_trip(
    organization, token, round_trips
):
    scim = ScimClient.in_process(organization, token[1])
    assert scim.get("/Users").status_code == 200  # registers the script on the server
    round_trips.clear()
    assert scim.get("/Users").status_code == 200
    assert len(round_trips) == 1


@pytest.mark.django_db
def test_a_refused_token_is_counted_in_one_round_trip(organization, round_trips):
    scim = ScimClient.in_process(organization, "k2p_forged")
    assert scim.get("/Users").status_code == 401  # opens the connection, registers the script
    round_trips.clear()
    assert scim.get("/Users").status_code == 401
    assert len(round_trips) == 1
