"""Recording from parallel requests on PostgreSQL, with real threads and transactions."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connections
from django.utils import timezone

from portal.models import SyncCycle, SyncEvent

from .conftest import record

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]

THREADS = 6


def _in_parallel(organization, count: int) -> None:
    barrier = threading.Barrier(count)

    def worker(n: int) -> None:
        try:
            barrier.wait(timeout=10)
            record(organization, subject=f"user{n}@x.test", at=timezone.now())
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=count) as pool:
        list(pool.map(worker, range(count)))


def test_a_bursts_parallel_first_requests_open_one_cycle(organization):
    _in_parallel(organization, THREADS)

    cycle = SyncCycle.objects.get()
    assert cycle.events == THREADS
    assert set(SyncEvent.objects.values_list("cycle_id", flat=True)) == {cycle.pk}


def test_parallel_requests_in_a_running_cycle_lose_no_count(organization):
    record(organization)
    _in_parallel(organization, THREADS)

    assert SyncCycle.objects.get().events == THREADS + 1
