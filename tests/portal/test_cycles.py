from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from portal.models import SyncCycle
from scim.calls import Operation

from .conftest import record

pytestmark = pytest.mark.django_db


def test_requests_close_together_share_one_cycle(organization):
    start = timezone.now()
    first = record(organization, at=start)
    second = record(organization, at=start + timedelta(minutes=19))

    assert first.cycle_id == second.cycle_id
    cycle = SyncCycle.objects.get()
    assert cycle.events == 2
    assert cycle.duration == timedelta(minutes=19)


def test_an_idle_gap_starts_a_new_cycle(organization, settings):
    settings.SYNC_CYCLE_IDLE_MINUTES = 20
    start = timezone.now()
    first = record(organization, at=start)
    second = record(organization, at=start + timedelta(minutes=40))

    assert first.cycle_id != second.cycle_id
    assert SyncCycle.objects.count() == 2


def test_the_idle_gap_is_configurable(organization, settings):
    settings.SYNC_CYCLE_IDLE_MINUTES = 60
    start = timezone.now()
    first = record(organization, at=start)
    second = record(organization, at=start + timedelta(minutes=40))

    assert first.cycle_id == second.cycle_id


def test_cycles_count_each_kind_of_change(organization):
    at = timezone.now()
    record(organization, at=at, operation=Operation.CREATE_USER)
    record(organization, at=at, operation=Operation.CREATE_GROUP, resource_type="Group")
    record(organization, at=at, operation=Operation.UPDATE_USER, status_code=200)
    record(organization, at=at, operation=Operation.DEACTIVATE_USER, status_code=200)
    record(organization, at=at, operation=Operation.DELETE_USER, status_code=204)
    record(
        organization,
        at=at,
        operation=Operation.UPDATE_MEMBERS,
        status_code=204,
        resource_type="Group",
        members_added=5,
        members_removed=2,
    )
    record(organization, at=at, operation=Operation.CREATE_USER, status_code=409)
    record(organization, at=at, operation=Operation.LIST_USERS, status_code=400)

    cycle = SyncCycle.objects.get()
    assert (cycle.events, cycle.created, cycle.updated, cycle.deactivated, cycle.deleted) == (
        8,
        2,
        1,
        1,
        1,
    )
    assert (cycle.membership_changes, cycle.failures) == (7, 2)


def test_each_organization_has_its_own_cycles(organization, other_organization):
    at = timezone.now()
    mine = record(organization, at=at)
    theirs = record(other_organization, at=at)

    assert mine.cycle_id != theirs.cycle_id


def test_recording_an_event_is_one_insert_and_one_cycle_update(organization):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    record(organization)
    with CaptureQueriesContext(connection) as captured:
        record(organization)

    statements = [query["sql"].lstrip().upper() for query in captured.captured_queries]
    assert sum(sql.startswith("INSERT") for sql in statements) == 1
    assert sum(sql.startswith("UPDATE") for sql in statements) == 1
    assert sum(sql.startswith("SELECT") for sql in statements) == 1
