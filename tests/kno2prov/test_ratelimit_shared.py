"""The SCIM budget is one budget across every gunicorn worker: counted in Redis."""

import pytest
import requests

from tests import factories
from tests.conftest import launch_gunicorn, wait_for_a_fresh_window


@pytest.mark.django_db(transaction=True)
def test_the_budget_is_shared_by_all_gunicorn_workers_through_redis(tmp_path):
    from django.core.cache.backends.redis import RedisCache

    RedisCache("redis://127.0.0.1:6379/15", {}).clear()
    organization = factories.make_organization(slug="shared-budget")
    _, plaintext = factories.make_token(organization)
    server = launch_gunicorn(
        tmp_path, REDIS_URL="redis://127.0.0.1:6379/15", SCIM_RATE_LIMIT="10/h"
    )
    # The servers count in fixed hourly windows of their own; all 16 requests fall in one.
    wait_for_a_fresh_window(str(organization.public_id), 3600, margin=60)
    try:
        statuses = []
        for _ in range(16):
            # A new connection each time, so both workers answer some of them.
            answer = requests.get(
                f"{server.url}/scim/v2/{organization.public_id}/Users",
                headers={"Authorization": f"Bearer {plaintext}", "Connection": "close"},
                timeout=10,
            )
            statuses.append(answer.status_code)
    finally:
        server.stop()
        RedisCache("redis://127.0.0.1:6379/15", {}).clear()
    assert statuses.count(200) == 10
    assert statuses.count(429) == 6
