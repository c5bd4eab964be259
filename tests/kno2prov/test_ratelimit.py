import pytest

from tests import factories
from tests.conftest import wait_for_a_fresh_window
from tests.schemas import ERROR, SCIM_JSON

REDIS_TEST_URL = "redis://127.0.0.1:6379/14"


@pytest.fixture(autouse=True, params=["local memory", "redis"])
def counters(request, settings):
    """Every test here runs with the counters in local memory (the embedded default, through
    django-ratelimit) and in Redis (production, ``REDIS_URL``: one round trip per check)."""
    import redis

    if request.param == "local memory":
        settings.REDIS_URL = ""
        yield request.param
        return
    settings.REDIS_URL = REDIS_TEST_URL
    redis.Redis.from_url(REDIS_TEST_URL).flushdb()
    yield request.param
    redis.Redis.from_url(REDIS_TEST_URL).flushdb()


def _list_users(client, organization, token: str | None, **extra):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    return client.get(f"/scim/v2/{organization.public_id}/Users", **headers, **extra)


@pytest.mark.django_db
def test_an_organization_over_its_budget_gets_429_with_retry_after(
    client, settings, organization, token
):
    settings.SCIM_RATE_LIMIT = "3/60s"
    _, plaintext = token
    wait_for_a_fresh_window(str(organization.public_id), 60, margin=5)
    answers = [_list_users(client, organization, plaintext) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    refused = answers[-1]
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert refused["Content-Type"].startswith(SCIM_JSON)
    assert refused.json()["status"] == "429"
    assert refused.json()["schemas"] == [ERROR]


@pytest.mark.django_db
def test_one_organizations_budget_does_not_limit_another(
    client, settings, organization, token, other_organization
):
    settings.SCIM_RATE_LIMIT = "2/60s"
    _, plaintext = token
    _, other_plaintext = factories.make_token(other_organization)
    for _ in range(3):
        _list_users(client, organization, plaintext)
    assert _list_users(client, other_organization, other_plaintext).status_code == 200


@pytest.mark.django_db
def test_requests_with_bad_tokens_do_not_spend_the_organizations_budget(
    client, settings, organization, token
):
    settings.SCIM_RATE_LIMIT = "2/60s"
    settings.SCIM_AUTH_FAILURE_RATE = "1000/5m"
    for _ in range(5):
        assert _list_users(client, organization, "k2p_forged").status_code == 401
    _, plaintext = token
    assert _list_users(client, organization, plaintext).status_code == 200


@pytest.mark.django_db
def test_repeated_invalid_tokens_from_one_client_are_refused(client, settings, organization):
    settings.SCIM_AUTH_FAILURE_RATE = "3/5m"
    statuses = [_list_users(client, organization, "not-a-token").status_code for _ in range(5)]
    assert statuses == [401, 401, 401, 429, 429]


@pytest.mark.django_db
def test_past_the_failure_limit_even_a_valid_token_is_refused(
    client, settings, organization, token
):
    settings.SCIM_AUTH_FAILURE_RATE = "3/5m"
    for _ in range(3):
        _list_users(client, organization, "not-a-token")
    _, plaintext = token
    refused = _list_users(client, organization, plaintext)
    assert refused.status_code == 429
    assert (
        refused.json()["detail"]
        == _list_users(client, organization, "not-a-token").json()["detail"]
    )


@pytest.mark.django_db
def test_a_valid_token_refused_for_its_clients_failures_spends_no_budget(
    client, settings, organization, token
):
    settings.SCIM_RATE_LIMIT = "2/60s"
    settings.SCIM_AUTH_FAILURE_RATE = "3/5m"
    _, plaintext = token
    wait_for_a_fresh_window(str(organization.public_id), 60, margin=5)
    for _ in range(3):
        _list_users(client, organization, "not-a-token", REMOTE_ADDR="203.0.113.7")
    for _ in range(3):
        refused = _list_users(client, organization, plaintext, REMOTE_ADDR="203.0.113.7")
        assert refused.status_code == 429
    answers = [_list_users(client, organization, plaintext) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]


@pytest.mark.django_db
def test_guessing_at_one_tenant_url_does_not_refuse_another_organizations_valid_token(
    client, settings, organization, other_organization
):
    settings.SCIM_AUTH_FAILURE_RATE = "3/5m"
    for _ in range(5):
        _list_users(client, organization, "not-a-token")
    _, other_plaintext = factories.make_token(other_organization)
    assert _list_users(client, other_organization, other_plaintext).status_code == 200


@pytest.mark.django_db
def test_guessing_from_one_client_does_not_refuse_another_client(client, settings, organization):
    settings.SCIM_AUTH_FAILURE_RATE = "3/5m"
    for _ in range(5):
        _list_users(client, organization, "not-a-token", REMOTE_ADDR="203.0.113.7")
    answer = _list_users(client, organization, "not-a-token", REMOTE_ADDR="198.51.100.9")
    assert answer.status_code == 401


@pytest.mark.django_db
def test_the_client_address_comes_from_the_trusted_proxy_header(client, settings, organization):
    settings.SCIM_AUTH_FAILURE_RATE = "2/5m"
    settings.TRUSTED_PROXY_COUNT = 1
    for _ in range(3):
        _list_users(client, organization, "bad", HTTP_X_FORWARDED_FOR="203.0.113.7")
    fresh = _list_users(client, organization, "bad", HTTP_X_FORWARDED_FOR="198.51.100.9")
    assert fresh.status_code == 401


@pytest.mark.django_db
def test_a_forged_leftmost_forwarded_for_entry_does_not_dodge_the_guessing_limit(
    client, settings, organization
):
    settings.SCIM_AUTH_FAILURE_RATE = "3/5m"
    settings.TRUSTED_PROXY_COUNT = 1
    # The client writes any address it likes; our one proxy appends the address it saw.
    statuses = [
        _list_users(
            client, organization, "not-a-token", HTTP_X_FORWARDED_FOR=f"10.0.0.{n}, 203.0.113.7"
        ).status_code
        for n in range(5)
    ]
    assert statuses == [401, 401, 401, 429, 429]


@pytest.mark.django_db
def test_provisioning_goes_on_while_the_cache_is_unreachable(
    client, settings, organization, token, counters
):
    unreachable = "redis://127.0.0.1:1/0"
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": unreachable,
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }
    if counters == "redis":
        settings.REDIS_URL = unreachable
    settings.SCIM_RATE_LIMIT = "1/60s"
    _, plaintext = token
    statuses = [_list_users(client, organization, plaintext).status_code for _ in range(3)]
    assert statuses == [200, 200, 200]
