"""Positions under concurrent writes on PostgreSQL, with real threads and transactions."""

from __future__ import annotations

import pytest

from directory.models import DirectoryEvent
from tests.scim.test_concurrency import THREADS, run_in_parallel

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


def _creates(prefix: str, client: object = None) -> list:
    def create(n: int):
        def call(c):
            return c.post("/Users", {"userName": f"{prefix}{n}@example.com"})

        call.client = client
        return call

    return [create(n) for n in range(THREADS)]


def test_parallel_writes_of_two_organizations_get_each_their_own_gapless_positions(
    scim, other_scim
):
    calls = [*_creates("p"), *_creates("q", other_scim)]

    statuses = run_in_parallel(scim, calls)

    assert statuses == [201] * len(calls)
    for organization in (scim.organization, other_scim.organization):
        positions = list(
            DirectoryEvent.objects.filter(organization=organization)
            .order_by("position")
            .values_list("position", flat=True)
        )
        assert positions == list(range(1, THREADS + 1))


def test_positions_follow_commit_order(scim):
    """Ids are taken at insert, positions under the counter lock: sorted by id, an
    organization's events must also be sorted by position (the cross-organization cursor
    relies on it)."""
    calls = [*_creates("c"), *_creates("d")]

    run_in_parallel(scim, calls)

    by_id = list(DirectoryEvent.objects.order_by("pk").values_list("position", flat=True))
    assert by_id == sorted(by_id)
