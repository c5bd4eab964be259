"""``SCIM_TENANT_PACE``: while another organization is provisioning, an organization's requests
past its pace wait their turn and are answered, never refused (``core.pacing``)."""

from __future__ import annotations

import time

import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families

from tests import factories

REDIS_TEST_URL = "redis://127.0.0.1:6379/13"


@pytest.fixture
def paced(settings):
    settings.REDIS_URL = REDIS_TEST_URL
    settings.SCIM_TENANT_PACE = 2  # a turn every 500 ms, 2 at once
    redis.Redis.from_url(REDIS_TEST_URL).flushdb()
    yield
    redis.Redis.from_url(REDIS_TEST_URL).flushdb()


def _list_users(client, organization, token: str):
    return client.get(
        f"/scim/v2/{organization.public_id}/Users", HTTP_AUTHORIZATION=f"Bearer {token}"
    )


@pytest.mark.django_db
def test_requests_past_the_pace_wait_their_turn_while_another_organization_provisions(
    client, paced, organization, token, other_organization
):
    _, plaintext = token
    _, other_plaintext = factories.make_token(other_organization)
    assert _list_users(client, other_organization, other_plaintext).status_code == 200
    started = time.monotonic()

    statuses = [_list_users(client, organization, plaintext).status_code for _ in range(6)]

    # The n-th request starts no sooner than (n - 1) turns after the first, less the burst:
    # 5 x 0.5 - 1 = 1.5 s for the sixth (unpaced, six list requests take a small fraction).
    assert statuses == [200] * 6
    assert time.monotonic() - started >= 1.5 - 0.05


def _paced_seconds(client) -> dict[str, float]:
    page = client.get("/metrics", HTTP_AUTHORIZATION="Bearer metrics-test-token").content.decode()
    return {
        sample.labels["organization"]: sample.value
        for family in text_string_to_metric_families(page)
        for sample in family.samples
        if sample.name == "kno2prov_scim_paced_seconds_total"
    }


@pytest.mark.django_db
def test_the_time_an_organization_waited_for_its_pace_is_in_the_metrics(
    client, settings, paced, organization, token, other_organization
):
    settings.METRICS_TOKEN = "metrics-test-token"
    settings.METRICS_ALLOWED_ADDRESSES = []
    _, plaintext = token
    _, other_plaintext = factories.make_token(other_organization)
    _list_users(client, other_organization, other_plaintext)
    before = _paced_seconds(client)

    for _ in range(6):  # two at once, then a turn every 0.5 s: 1.5 s at most in all
        _list_users(client, organization, plaintext)

    after = _paced_seconds(client)
    waited = after.get(organization.slug, 0) - before.get(organization.slug, 0)
    assert 0.3 < waited <= 1.5
    assert after.get(other_organization.slug, 0) == before.get(other_organization.slug, 0)
