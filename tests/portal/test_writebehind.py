"""Sync history written behind the response, in batches (``portal.writebehind``)."""

from __future__ import annotations

import time
from datetime import timedelta

import psycopg
import pytest
from django.db import OperationalError, connection
from django.utils import timezone

from portal import services, writebehind
from portal.models import SyncCycle, SyncEvent, SyncEventMember
from scim.calls import Operation
from tests import factories
from tests.conftest import _database_url

from .conftest import make_call, record

pytestmark = pytest.mark.django_db


def pending(organization, **call) -> services.PendingSyncEvent:
    return services.build_sync_event(make_call(organization, **call))


def stored(organization) -> list[SyncEvent]:
    return list(SyncEvent.objects.filter(organization=organization).order_by("created_at", "id"))


CALLS = [
    {"operation": Operation.CREATE_USER, "subject": "ann@x.test", "status_code": 201},
    {
        "operation": Operation.CREATE_USER,
        "subject": "bob@x.test",
        "status_code": 409,
        "error_type": "uniqueness",
        "error_detail": "userName is already taken",
    },
    {
        "operation": Operation.UPDATE_MEMBERS,
        "subject": "Nurses",
        "resource_type": "Group",
        "status_code": 204,
        "members_added": 2,
        "member_ids": {"added": ["u-1", "u-2"]},
    },
    {"operation": Operation.DEACTIVATE_USER, "subject": "ann@x.test", "status_code": 200},
]


def test_a_batch_stores_what_the_same_calls_one_at_a_time_store():
    one_at_a_time, batched = factories.make_organization(), factories.make_organization()
    start = timezone.now()
    for n, call in enumerate(CALLS):
        record(one_at_a_time, at=start + timedelta(seconds=n), **call)
    services.write_sync_events(
        [pending(batched, at=start + timedelta(seconds=n), **call) for n, call in enumerate(CALLS)]
    )

    def shown(event: SyncEvent) -> tuple:
        return (
            event.created_at,
            event.operation,
            event.summary,
            event.subject,
            event.succeeded,
            event.error_type,
            event.members_added,
            sorted(SyncEventMember.objects.filter(event=event).values_list("member_id", "change")),
        )

    assert [shown(e) for e in stored(batched)] == [shown(e) for e in stored(one_at_a_time)]
    counters = ("events", "created", "deactivated", "failures", "membership_changes")
    expected = SyncCycle.objects.filter(organization=one_at_a_time).values(*counters).get()
    assert SyncCycle.objects.filter(organization=batched).values(*counters).get() == expected
    assert expected == {
        "events": 4,
        "created": 1,
        "deactivated": 1,
        "failures": 1,
        "membership_changes": 2,
    }


def test_a_batch_counts_each_organizations_calls_in_that_organizations_cycle():
    clinic, hospital = factories.make_organization(), factories.make_organization()
    at = timezone.now()
    services.write_sync_events(
        [pending(clinic, at=at), pending(hospital, at=at), pending(clinic, at=at)]
    )

    assert SyncCycle.objects.get(organization=clinic).events == 2
    assert SyncCycle.objects.get(organization=hospital).events == 1
    assert {e.cycle.organization_id for e in stored(clinic)} == {clinic.pk}


def test_a_batch_spanning_an_idle_gap_opens_a_second_cycle(settings):
    settings.SYNC_CYCLE_IDLE_MINUTES = 20
    organization = factories.make_organization()
    start = timezone.now()
    services.write_sync_events(
        [
            pending(organization, at=start + timedelta(minutes=45)),
            pending(organization, at=start),
            pending(organization, at=start + timedelta(minutes=5)),
        ]
    )

    cycles = list(SyncCycle.objects.filter(organization=organization).order_by("started_at"))
    assert [(c.started_at, c.last_event_at, c.events) for c in cycles] == [
        (start, start + timedelta(minutes=5), 2),
        (start + timedelta(minutes=45), start + timedelta(minutes=45), 1),
    ]


def test_a_batch_extends_the_cycle_its_organization_has_open():
    organization = factories.make_organization()
    start = timezone.now()
    first = record(organization, at=start)
    services.write_sync_events(
        [
            pending(organization, at=start + timedelta(minutes=3)),
            pending(organization, at=start + timedelta(minutes=1)),
        ]
    )

    cycle = SyncCycle.objects.get(organization=organization)
    assert cycle.pk == first.cycle_id
    assert (cycle.events, cycle.last_event_at) == (3, start + timedelta(minutes=3))
    assert {e.cycle_id for e in stored(organization)} == {cycle.pk}


def field_values(event: SyncEvent) -> dict:
    return {
        f.attname: getattr(event, f.attname)
        for f in SyncEvent._meta.concrete_fields
        if f.attname not in ("id", "cycle_id")
    }


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_batch_appended_to_an_open_cycle_stores_every_field_as_built(
    django_assert_num_queries,
):
    organization = factories.make_organization()
    start = timezone.now().replace(microsecond=123456)
    services.write_sync_events([pending(organization, at=start, subject="opens@x.test")])
    batch = [
        pending(organization, at=start + timedelta(seconds=n, microseconds=7), **call)
        for n, call in enumerate(CALLS, start=1)
    ]
    built = [field_values(p.event()) for p in batch]

    # One round trip for the events (the open cycle's path), one for the group's members.
    with django_assert_num_queries(2):
        services.write_sync_events(batch)

    first, *appended = stored(organization)
    assert [field_values(e) for e in appended] == built
    assert {e.cycle_id for e in appended} == {first.cycle_id}


@pytest.mark.django_db(transaction=True)
def test_an_event_the_database_refuses_costs_only_itself():
    kept, deleted = factories.make_organization(), factories.make_organization()
    batch = [pending(kept, subject="before"), pending(deleted), pending(kept, subject="after")]
    deleted.delete()

    writebehind.write(batch)

    assert [e.subject for e in stored(kept)] == ["before", "after"]
    assert SyncCycle.objects.get(organization=kept).events == 2
    assert not SyncEvent.objects.filter(organization_id=deleted.pk).exists()


@pytest.mark.django_db(transaction=True)
def test_the_writer_thread_stores_a_submitted_call_within_its_interval():
    organization = factories.make_organization()
    writer = writebehind.HistoryWriter(interval_seconds=0.05)
    try:
        writer.submit(pending(organization, subject="ann@x.test"))
        wait_until(lambda: SyncEvent.objects.filter(organization=organization).exists())
    finally:
        writer.stop()

    assert [e.subject for e in stored(organization)] == ["ann@x.test"]


@pytest.mark.django_db(transaction=True)
def test_stopping_the_writer_stores_what_is_still_pending():
    organization = factories.make_organization()
    writer = writebehind.HistoryWriter(interval_seconds=3600)
    writer.submit(pending(organization, subject="ann@x.test"))
    writer.submit(pending(organization, subject="bob@x.test"))
    assert not SyncEvent.objects.filter(organization=organization).exists()

    writer.stop()

    assert [e.subject for e in stored(organization)] == ["ann@x.test", "bob@x.test"]
    assert writer.pending() == 0


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_call_pending_while_the_database_connection_drops_is_written_after_it():
    organization = factories.make_organization()
    writer = writebehind.HistoryWriter(interval_seconds=0.05)
    try:
        writer.submit(pending(organization, subject="before@x.test"))
        wait_until(lambda: len(stored(organization)) == 1)
        # The writer thread's connection goes, as in a database restart or failover.
        assert terminate_other_sessions() >= 1
        writer.submit(pending(organization, subject="after@x.test"))
        wait_until(lambda: len(stored(organization)) == 2)
    finally:
        writer.stop()

    assert [e.subject for e in stored(organization)] == ["before@x.test", "after@x.test"]
    assert writer.dropped == 0


def wait_until(condition, seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the writer thread did not store the calls"
        time.sleep(0.05)


def terminate_other_sessions() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        ours = cursor.fetchone()[0]
    with psycopg.connect(_database_url(connection.settings_dict), autocommit=True) as admin:
        return len(
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid NOT IN (pg_backend_pid(), %s) "
                "AND backend_type = 'client backend'",
                [ours],
            ).fetchall()
        )


def test_members_left_unwritten_by_a_dropped_connection_are_written_by_the_next_flush(
    monkeypatch,
):
    """The connection drops after the batch's events are committed, before the second
    event's members are: the next flush writes those members and inserts no event twice."""
    organization = factories.make_organization()
    record_members = services._record_members
    attempts = []

    def drop_the_connection_once(pending_event):
        attempts.append(pending_event.values["subject"])
        if len(attempts) == 2:
            raise OperationalError("server closed the connection unexpectedly")
        record_members(pending_event)

    monkeypatch.setattr(services, "_record_members", drop_the_connection_once)
    writer = writebehind.HistoryWriter(interval_seconds=3600)
    try:
        for subject, members in (("Nurses", ["u-1"]), ("Doctors", ["u-2", "u-3"])):
            writer.submit(
                pending(
                    organization,
                    operation=Operation.UPDATE_MEMBERS,
                    subject=subject,
                    resource_type="Group",
                    status_code=204,
                    members_added=len(members),
                    member_ids={"added": members},
                )
            )
        assert (writer.flush(), writer.pending()) == (1, 1)
        assert writer.flush() == 1
    finally:
        writer.stop()

    assert [e.subject for e in stored(organization)] == ["Nurses", "Doctors"]
    members = SyncEventMember.objects.filter(event__organization=organization)
    assert sorted(members.values_list("event__subject", "member_id")) == [
        ("Doctors", "u-2"),
        ("Doctors", "u-3"),
        ("Nurses", "u-1"),
    ]


def test_past_the_pending_bound_new_calls_are_dropped_not_held(monkeypatch):
    monkeypatch.setattr(writebehind, "MAX_PENDING", 2)
    organization = factories.make_organization()
    writer = writebehind.HistoryWriter(interval_seconds=3600)
    try:
        for subject in ("a@x.test", "b@x.test", "c@x.test"):
            writer.submit(pending(organization, subject=subject))
        assert (writer.pending(), writer.dropped) == (2, 1)
        writer.flush()
    finally:
        writer.stop()

    assert [e.subject for e in stored(organization)] == ["a@x.test", "b@x.test"]


def test_a_backlog_larger_than_one_batch_is_written_in_several_and_counted_once_each(
    monkeypatch,
):
    monkeypatch.setattr(writebehind, "BATCH", 2)
    organization = factories.make_organization()
    writer = writebehind.HistoryWriter(interval_seconds=3600)
    try:
        for n in range(5):
            writer.submit(pending(organization, subject=f"user{n}@x.test"))
        assert writer.flush() == 5
    finally:
        writer.stop()

    assert [e.subject for e in stored(organization)] == [f"user{n}@x.test" for n in range(5)]
    assert SyncCycle.objects.get(organization=organization).events == 5


def test_with_a_writer_running_a_scim_call_is_recorded_behind_its_response(
    client, settings, organization
):
    settings.SYNC_HISTORY_FLUSH_MS = 3_600_000
    _, plaintext = factories.make_token(organization)
    writer = writebehind.start()
    try:
        response = client.get(
            f"/scim/v2/{organization.public_id}/Users",
            {"filter": 'userName eq "ann@x.test"'},
            headers={"Authorization": f"Bearer {plaintext}"},
        )
        assert response.status_code == 200
        assert not SyncEvent.objects.filter(organization=organization).exists()
        assert writer.flush() == 1
    finally:
        writebehind.stop()

    event = SyncEvent.objects.get(organization=organization)
    assert (event.operation, event.filter) == (Operation.LIST_USERS, 'userName eq "ann@x.test"')


def test_without_a_started_writer_a_scim_call_is_recorded_at_once(client, organization):
    _, plaintext = factories.make_token(organization)

    client.get(
        f"/scim/v2/{organization.public_id}/Users",
        {"filter": 'userName eq "ann@x.test"'},
        headers={"Authorization": f"Bearer {plaintext}"},
    )

    assert writebehind.writer() is None
    assert SyncEvent.objects.filter(organization=organization).count() == 1
