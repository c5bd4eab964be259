"""Positions under concurrent writes on PostgreSQL, with real threads and transactions."""

from __future__ import annotations

import pytest

from directory.models import DirectoryEvent
from tests.scim.test_concurrency import THREADS, run_in_parallel

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


def _creates(prefix: str) -> list:
    def create(n: int):
        return lambda client: client.post("/Users", {"userName": f"{prefix}{n}@riverside.example"})

    return [create(n) for n in range(THREADS * 2)]


def test_parallel_writes_of_one_organization_get_distinct_gapless_positions(scim):
    calls = _creates("p")

    statuses = run_in_parallel(scim, calls)

    assert statuses == [201] * len(calls)
    positions = list(DirectoryEvent.objects.filter(organization=scim.organization)
                     .order_by("position").values_list("position", flat=True))
    assert positions == list(range(1, len(calls) + 1))


def test_positions_follow_commit_order(scim):
    """Ids are taken at insert, positions under the counter lock: sorted by id, an
    organization's events must also be sorted by position (the cross-organization cursor
    relies on it)."""
    calls = _creates("c")

    run_in_parallel(scim, calls)

    by_id = list(DirectoryEvent.objects.order_by("pk").values_list("position", flat=True))
    assert by_id == sorted(by_id)
