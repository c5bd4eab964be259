"""Concurrent SCIM writes on PostgreSQL, with real threads and real transactions.

Azure may send requests for one resource in parallel (docs/azure-scim-client.md §3.9). The
database, not a check-then-insert in Python, decides: a unique index for userName, and idempotent
membership inserts for member adds. (They pass on SQLite too, where ``scim.views.write_transaction``
begins write requests IMMEDIATE; the marker keeps the required runs on PostgreSQL.)
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connections

from scim.models import GroupMembership, ScimUser

from .conftest import ScimClient, bulk_users, make_group, make_user

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]

THREADS = 6


def run_in_parallel(scim: ScimClient, calls: list) -> list[int]:
    """Run each ``call(client)`` in its own thread and connection, released together.

    A call may carry its own client as ``call.client``; otherwise it gets one for ``scim``'s
    organization.
    """
    barrier = threading.Barrier(len(calls))

    def worker(call):
        default = ScimClient.in_process(scim.organization, scim.token)
        client = getattr(call, "client", None) or default
        try:
            barrier.wait(timeout=10)
            return call(client).status_code
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(worker, calls))


def test_parallel_creates_of_one_username_in_different_cases_give_one_201(scim):
    names = [
        "race@riverside.example",
        "RACE@riverside.example",
        "Race@Riverside.Example",
        "rAcE@riverside.example",
        "race@RIVERSIDE.example",
        "RACE@RIVERSIDE.EXAMPLE",
    ]
    calls = [
        lambda client, name=name: client.post("/Users", {"userName": name})
        for name in names[:THREADS]
    ]

    statuses = run_in_parallel(scim, calls)

    assert sorted(statuses) == [201] + [409] * (THREADS - 1)
    assert ScimUser.objects.filter(user_name__iexact="race@riverside.example").count() == 1


def test_parallel_member_adds_to_one_group_lose_nothing(scim):
    users = bulk_users(scim.organization, THREADS * 20)
    group = make_group(scim.organization, "Everyone")
    batches = [users[n::THREADS] for n in range(THREADS)]
    calls = [
        lambda client, batch=batch: client.patch_ops(
            f"/Groups/{group.scim_id}",
            {"op": "Add", "path": "members", "value": [{"value": str(u.scim_id)} for u in batch]},
        )
        for batch in batches
    ]

    statuses = run_in_parallel(scim, calls)

    assert statuses == [204] * THREADS
    assert GroupMembership.objects.filter(group=group).count() == len(users)


def test_parallel_overlapping_member_adds_succeed_without_duplicates(scim):
    users = bulk_users(scim.organization, 40)
    group = make_group(scim.organization, "Everyone")
    operation = {
        "op": "Add",
        "path": "members",
        "value": [{"value": str(u.scim_id)} for u in reversed(users)],
    }
    calls = [lambda client: client.patch_ops(f"/Groups/{group.scim_id}", operation)] * THREADS

    statuses = run_in_parallel(scim, calls)

    assert statuses == [204] * THREADS
    assert GroupMembership.objects.filter(group=group).count() == 40


def test_parallel_creates_of_one_username_in_two_organizations_both_succeed(scim, other_scim):
    def create(client):
        return client.post("/Users", {"userName": "same@example.com"})

    def create_elsewhere(client):
        return create(client)

    create_elsewhere.client = ScimClient.in_process(other_scim.organization, other_scim.token)

    statuses = run_in_parallel(scim, [create, create_elsewhere])

    assert statuses == [201, 201]
    assert ScimUser.objects.filter(user_name="same@example.com").count() == 2


def test_deleting_a_user_while_it_is_added_to_groups_leaves_no_dangling_member(scim):
    user = make_user(scim.organization, "leaving@riverside.example")
    groups = [make_group(scim.organization, f"Group {n}") for n in range(THREADS - 1)]
    operation = {"op": "add", "path": "members", "value": [{"value": str(user.scim_id)}]}
    calls = [lambda client: client.delete(f"/Users/{user.scim_id}")] + [
        lambda client, group=group: client.patch_ops(f"/Groups/{group.scim_id}", operation)
        for group in groups
    ]

    statuses = run_in_parallel(scim, calls)

    assert statuses[0] == 204
    assert set(statuses[1:]) <= {204, 400}
    assert not ScimUser.objects.filter(pk=user.pk).exists()
    assert not GroupMembership.objects.exists()


def test_a_member_deleted_between_lookup_and_insert_is_a_400_that_changes_nothing(
    scim, monkeypatch
):
    """The race above, made to happen every time: another session deletes the user (and
    commits) after the PATCH resolved its id and before it inserts the membership. The
    deferred foreign key is checked at once, so the client gets a 400 it can retry, not a 500
    from a failed COMMIT."""
    from scim import services

    user = make_user(scim.organization, "gone@riverside.example")
    group = make_group(scim.organization, "Ward 9")
    version = scim.get(f"/Groups/{group.scim_id}").json()["meta"]["version"]
    resolve = services._users_with_ids

    def resolve_then_lose_the_user(organization, scim_ids):
        found = resolve(organization, scim_ids)
        other = connections.create_connection("default")  # autocommit: deleted for good
        try:
            with other.cursor() as cursor:
                cursor.execute("DELETE FROM scim_scimuser WHERE id = %s", [user.pk])
        finally:
            other.close()
        return found

    monkeypatch.setattr(services, "_users_with_ids", resolve_then_lose_the_user)
    response = scim.patch_ops(
        f"/Groups/{group.scim_id}",
        {"op": "add", "path": "members", "value": [{"value": str(user.scim_id)}]},
    )

    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidValue"
    assert not GroupMembership.objects.exists()
    assert scim.get(f"/Groups/{group.scim_id}").json()["meta"]["version"] == version
