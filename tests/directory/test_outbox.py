"""Directory events are written by the SCIM write that causes them, in its transaction."""

from __future__ import annotations

import uuid

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django_tasks_db.models import DBTaskResult

from directory import outbox
from directory.models import DirectoryEvent, WebhookDelivery
from scim import documents, services
from scim.models import ScimUser
from tests.scim.conftest import bulk_users, make_group, make_user


def _events(organization) -> list[DirectoryEvent]:
    """The organization's events as every reader sees them: spans of members expanded."""
    rows = DirectoryEvent.objects.filter(organization=organization).order_by("position")
    return [event for row in rows for event in row.expand()]


def _types(organization) -> list[str]:
    return [event.type for event in _events(organization)]


def test_creating_a_user_writes_user_created_with_its_state(scim):
    response = scim.post(
        "/Users",
        {"userName": "alice@riverside.example", "externalId": "a-1", "displayName": "Alice"},
    )

    event = DirectoryEvent.objects.get()
    assert (event.type, event.position, event.name, event.external_id) == (
        "user.created",
        1,
        "alice@riverside.example",
        "a-1",
    )
    assert str(event.resource_id) == response.json()["id"]
    assert event.data["displayName"] == "Alice"


def test_updating_a_user_lists_the_changed_attributes(scim):
    user = make_user(scim.organization, "alice@riverside.example")

    scim.patch_ops(
        f"/Users/{user.scim_id}", {"op": "replace", "path": "displayName", "value": "Alice A."}
    )

    event = DirectoryEvent.objects.get(type="user.updated")
    assert event.changes == [{"attribute": "displayName", "old": None, "new": "Alice A."}]
    assert event.data["displayName"] == "Alice A."


def test_deactivating_and_reactivating_a_user_say_so(scim):
    user = make_user(scim.organization, "alice@riverside.example")

    scim.patch_ops(f"/Users/{user.scim_id}", {"op": "replace", "path": "active", "value": False})
    scim.patch_ops(f"/Users/{user.scim_id}", {"op": "replace", "path": "active", "value": True})

    assert _types(scim.organization) == ["user.created", "user.deactivated", "user.reactivated"]


def test_deactivating_while_renaming_writes_both_events_in_order(scim):
    user = make_user(scim.organization, "alice@riverside.example")

    scim.patch_ops(
        f"/Users/{user.scim_id}",
        {"op": "replace", "path": "active", "value": False},
        {"op": "replace", "path": "displayName", "value": "Alice"},
    )

    assert _types(scim.organization) == ["user.created", "user.deactivated", "user.updated"]
    assert DirectoryEvent.objects.get(type="user.updated").changes[0]["attribute"] == (
        "displayName"
    )


def test_a_patch_that_changes_nothing_writes_no_event(scim):
    user = make_user(scim.organization, "alice@riverside.example", displayName="Alice")

    response = scim.patch_ops(
        f"/Users/{user.scim_id}", {"op": "replace", "path": "displayName", "value": "Alice"}
    )

    assert response.status_code == 200
    assert _types(scim.organization) == ["user.created"]


def test_re_adding_an_existing_member_writes_no_event(scim):
    alice = make_user(scim.organization, "alice@riverside.example")
    group = make_group(scim.organization, "Nurses", members=[alice])
    before = DirectoryEvent.objects.count()

    response = scim.patch_ops(
        f"/Groups/{group.scim_id}",
        {"op": "add", "path": "members", "value": [{"value": str(alice.scim_id)}]},
    )

    assert response.status_code == 204
    assert DirectoryEvent.objects.count() == before


def test_deleting_a_user_writes_user_deleted_with_its_last_state(scim):
    user = make_user(scim.organization, "alice@riverside.example", externalId="a-1")

    scim.delete(f"/Users/{user.scim_id}")

    event = DirectoryEvent.objects.get(type="user.deleted")
    assert (event.resource_id, event.data["userName"]) == (user.scim_id, user.user_name)


def test_group_lifecycle_writes_one_event_per_member(scim):
    alice = make_user(scim.organization, "alice@riverside.example")
    bob = make_user(scim.organization, "bob@riverside.example")
    group = make_group(scim.organization, "Nurses", members=[alice])

    scim.patch_ops(
        f"/Groups/{group.scim_id}",
        {"op": "add", "path": "members", "value": [{"value": str(bob.scim_id)}]},
        {"op": "replace", "path": "displayName", "value": "RNs"},
    )
    scim.patch_ops(
        f"/Groups/{group.scim_id}", {"op": "remove", "path": f'members[value eq "{alice.scim_id}"]'}
    )
    scim.delete(f"/Groups/{group.scim_id}")

    assert _types(scim.organization)[2:] == [
        "group.created",
        "group.member_added",
        "group.updated",
        "group.member_added",
        "group.member_removed",
        "group.deleted",
    ]
    added = [e for e in _events(scim.organization) if e.type == "group.member_added"]
    assert [event.data["member"]["userName"] for event in added] == [alice.user_name, bob.user_name]
    assert added[-1].data["group"]["displayName"] == "RNs"


def test_a_failing_request_writes_no_event(scim):
    group = make_group(scim.organization, "Nurses")
    before = DirectoryEvent.objects.count()

    response = scim.patch_ops(
        f"/Groups/{group.scim_id}",
        {
            "op": "add",
            "path": "members",
            "value": [{"value": "3f1c6c4e-0000-4000-8000-000000000000"}],
        },
    )

    assert response.status_code == 400
    assert DirectoryEvent.objects.count() == before


def test_a_rolled_back_transaction_takes_its_events_with_it(organization):
    with pytest.raises(RuntimeError), transaction.atomic():
        services.create_user(organization, documents.clean_user({"userName": "a@x.example"}))
        raise RuntimeError("the caller fails after the change")

    assert DirectoryEvent.objects.count() == 0
    assert not ScimUser.objects.exists()


def test_positions_are_gapless_and_per_organization(scim, other_scim):
    for n in range(3):
        scim.post("/Users", {"userName": f"u{n}@riverside.example"})
        other_scim.post("/Users", {"userName": f"u{n}@lakeside.example"})

    for org in (scim.organization, other_scim.organization):
        assert list(
            DirectoryEvent.objects.filter(organization=org)
            .order_by("position")
            .values_list("position", flat=True)
        ) == [1, 2, 3]


def test_positions_continue_after_a_rolled_back_write(organization):
    make_user(organization, "a@x.example")
    with pytest.raises(RuntimeError), transaction.atomic():
        make_user(organization, "b@x.example")
        raise RuntimeError
    make_user(organization, "c@x.example")

    assert list(DirectoryEvent.objects.values_list("position", flat=True)) == [1, 2]


def test_a_1000_member_patch_writes_1000_events_in_bounded_queries(
    scim, endpoint, django_assert_max_num_queries, without_sync_history
):
    users = bulk_users(scim.organization, 1_000)
    group = make_group(scim.organization, "Everyone")
    scim.get("/Users", {"count": 0})  # settle the throttled last_used_at write

    # The SCIM add budget (tests/scim/test_query_counts.py) plus the outbox's: member lookup,
    # position upsert, event insert, endpoints, deliveries, one task.
    with django_assert_max_num_queries(11 + 6):
        response = scim.patch_ops(
            f"/Groups/{group.scim_id}",
            {"op": "add", "path": "members", "value": [{"value": str(u.scim_id)} for u in users]},
        )

    assert response.status_code == 204
    added = [e for e in _events(scim.organization) if e.type == "group.member_added"]
    assert [e.position for e in added] == list(range(2, 1_002))
    assert sorted(e.data["member"]["id"] for e in added) == sorted(str(u.scim_id) for u in users)


def test_a_1000_member_patch_is_one_row_and_one_delivery_per_endpoint(scim, endpoint):
    users = bulk_users(scim.organization, 1_000)
    group = make_group(scim.organization, "Everyone")

    scim.patch_ops(
        f"/Groups/{group.scim_id}",
        {"op": "add", "path": "members", "value": [{"value": str(u.scim_id)} for u in users]},
    )

    span = DirectoryEvent.objects.get(type="group.member_added")
    assert (span.position, span.last_position) == (2, 1_001)
    assert WebhookDelivery.objects.filter(endpoint=endpoint).count() == 2
    assert DirectoryEvent.objects.get(organization=scim.organization, position=1).type == (
        "group.created"
    )


def test_members_beyond_a_thousand_continue_in_the_next_row_without_a_gap(organization):
    group = outbox.Resource(outbox.ResourceType.GROUP, uuid.uuid4(), None, "Everyone")
    members = [
        outbox.Resource(outbox.ResourceType.USER, uuid.uuid4(), None, f"u{n}@riverside.example")
        for n in range(2_500)
    ]

    with transaction.atomic():
        outbox.group_changed(organization.pk, group, {}, created=True, added=members)

    rows = DirectoryEvent.objects.filter(organization=organization).order_by("position")
    assert [(row.position, row.last_position) for row in rows] == [
        (1, 1),
        (2, 1_001),
        (1_002, 2_001),
        (2_002, 2_501),
    ]
    added = [e.data["member"]["userName"] for e in _events(organization)[1:]]
    assert added == [m.name for m in members]


def test_a_span_gives_each_member_its_own_message_id_the_same_on_every_read(scim):
    alice = make_user(scim.organization, "alice@riverside.example")
    bob = make_user(scim.organization, "bob@riverside.example")
    make_group(scim.organization, "Nurses", members=[alice, bob])

    first, second = _events(scim.organization)[-2:], _events(scim.organization)[-2:]

    assert [e.message_id for e in first] == [e.message_id for e in second]
    assert first[0].message_id != first[1].message_id
    assert [e.position for e in first] == [4, 5]


def test_the_write_after_a_span_takes_the_position_after_its_last_member(scim):
    users = bulk_users(scim.organization, 3)
    group = make_group(scim.organization, "Everyone", members=users)

    scim.post("/Users", {"userName": "late@riverside.example"})

    assert [(e.type, e.position) for e in _events(scim.organization)][-2:] == [
        ("group.member_added", 4),
        ("user.created", 5),
    ]
    span = DirectoryEvent.objects.get(resource_id=group.scim_id, type="group.member_added")
    assert (span.position, span.last_position) == (2, 4)


def test_a_write_queues_deliveries_only_for_its_own_organizations_endpoints(
    scim, other_scim, endpoint
):
    other_scim.post("/Users", {"userName": "x@lakeside.example"})
    scim.post("/Users", {"userName": "a@riverside.example"})

    assert list(WebhookDelivery.objects.values_list("event__name", flat=True)) == [
        "a@riverside.example"
    ]


def test_a_taken_user_name_writes_neither_the_user_nor_an_event(scim, endpoint):
    make_user(scim.organization, "alice@riverside.example")
    before = (DirectoryEvent.objects.count(), WebhookDelivery.objects.count())

    response = scim.post("/Users", {"userName": "ALICE@riverside.example"})

    assert response.status_code == 409
    assert response.json()["scimType"] == "uniqueness"
    assert (DirectoryEvent.objects.count(), WebhookDelivery.objects.count()) == before
    assert ScimUser.objects.count() == 1


@pytest.mark.postgres_only
def test_a_user_create_writes_its_row_and_its_event_in_one_statement(scim, endpoint):
    """One round trip for the row, the event, its position and its deliveries (PostgreSQL)."""
    with CaptureQueriesContext(connection) as captured:
        response = scim.post("/Users", {"userName": "bob@riverside.example"})

    assert response.status_code == 201
    writes = [q["sql"] for q in captured.captured_queries if q["sql"].lstrip().startswith("WITH")]
    assert len(writes) == 1
    assert '"scim_scimuser"' in writes[0] and '"directory_directoryevent"' in writes[0]
    assert not any(
        q["sql"].startswith('INSERT INTO "scim_scimuser"') for q in captured.captured_queries
    )
    user = ScimUser.objects.get(user_name="bob@riverside.example")
    assert str(user.scim_id) == response.json()["id"]
    event = DirectoryEvent.objects.get(resource_id=user.scim_id)
    assert (event.type, event.name) == ("user.created", "bob@riverside.example")
    assert WebhookDelivery.objects.filter(event=event, endpoint=endpoint).count() == 1
    # The stream's wake-up, queued in the same transaction.
    assert DBTaskResult.objects.get().args_kwargs["args"] == [endpoint.pk, scim.organization.pk]


@pytest.mark.postgres_only  # SQLite does not name the table a violation is on
def test_a_unique_violation_outside_the_users_table_is_not_called_a_taken_user_name(
    organization,
):
    """The create's one statement writes the event too: only the user's own unique indexes
    make a 409, anything else stays the server error it is."""
    taken = uuid.uuid4()

    def write_a_duplicate_event():
        for _ in range(2):
            DirectoryEvent.objects.create(
                public_id=taken,
                organization=organization,
                position=DirectoryEvent.objects.count() + 1,
                last_position=DirectoryEvent.objects.count() + 1,
                type="user.created",
                resource_type="User",
                resource_id=uuid.uuid4(),
                name="x",
                data={},
            )

    with pytest.raises(IntegrityError), transaction.atomic():  # not scim.errors.Uniqueness
        services._written_unique(write_a_duplicate_event, "taken", ScimUser)
