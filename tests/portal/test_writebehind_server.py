"""gunicorn with the production default writes the sync history behind its responses, and a
worker that stops writes what it still holds first (``kno2prov.gunicorn_conf``)."""

from __future__ import annotations

import time

import pytest
import requests

from portal.models import SyncEvent
from tests import factories
from tests.conftest import launch_gunicorn

pytestmark = pytest.mark.django_db(transaction=True)


def lookup(server, organization, plaintext: str, user_name: str) -> None:
    answer = requests.get(
        f"{server.url}/scim/v2/{organization.public_id}/Users",
        params={"filter": f'userName eq "{user_name}"'},
        headers={"Authorization": f"Bearer {plaintext}"},
        timeout=10,
    )
    assert answer.status_code == 200


def filters_recorded(organization) -> list[str]:
    return list(
        SyncEvent.objects.filter(organization=organization)
        .order_by("created_at")
        .values_list("filter", flat=True)
    )


def test_a_served_call_reaches_the_history_within_the_flush_interval(tmp_path):
    organization = factories.make_organization()
    _, plaintext = factories.make_token(organization)
    server = launch_gunicorn(tmp_path, SYNC_HISTORY_FLUSH_MS="100")
    try:
        lookup(server, organization, plaintext, "ann@x.test")
        deadline = time.monotonic() + 15
        while not filters_recorded(organization):
            assert time.monotonic() < deadline, server.log()
            time.sleep(0.1)
    finally:
        server.stop()

    assert filters_recorded(organization) == ['userName eq "ann@x.test"']


def test_a_stopping_server_writes_the_history_it_still_holds(tmp_path):
    organization = factories.make_organization()
    _, plaintext = factories.make_token(organization)
    # An hour between flushes: only the workers' exit can write these calls.
    server = launch_gunicorn(tmp_path, SYNC_HISTORY_FLUSH_MS="3600000")
    try:
        lookup(server, organization, plaintext, "ann@x.test")
        lookup(server, organization, plaintext, "bob@x.test")
        assert filters_recorded(organization) == []
    finally:
        server.stop()

    assert server.process.returncode == 0, server.log()
    assert filters_recorded(organization) == [
        'userName eq "ann@x.test"',
        'userName eq "bob@x.test"',
    ]
