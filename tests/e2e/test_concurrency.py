"""Concurrent SCIM writes over real HTTP on PostgreSQL (gunicorn: 2 workers x 4 threads).

Entra's request concurrency is not documented (docs/azure-scim-client.md §3.9), so writes to one
resource must be safe when they race: uniqueness holds under parallel creates, and parallel member
adds to one group lose nothing.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.schemas import GROUP, PATCH_OP, USER
from tests.scim_client import ScimClient, assert_error, describe

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres_only]

PARALLEL = 8


def race(scim: ScimClient, requests_: list[tuple[str, str, dict]]) -> list[requests.Response]:
    """Send the requests at once, each on its own connection, released by one barrier."""
    barrier = threading.Barrier(len(requests_))

    def send(request: tuple[str, str, dict]) -> requests.Response:
        method, path, body = request
        client = ScimClient(scim.base, scim.token)
        try:
            client.session.get(client.url("/ServiceProviderConfig"), timeout=30)  # connect first
            barrier.wait(timeout=30)
            return client.request(method, path, body)
        finally:
            client.session.close()

    with ThreadPoolExecutor(max_workers=len(requests_)) as pool:
        return list(pool.map(send, requests_))


def test_parallel_creates_of_one_username_in_different_cases(scim):
    names = [
        "race@riverside.test",
        "RACE@riverside.test",
        "Race@Riverside.Test",
        "race@RIVERSIDE.test",
        "rAcE@riverside.test",
        "RACE@RIVERSIDE.TEST",
        "race@Riverside.test",
        "Race@riverside.test",
    ]

    responses = race(
        scim, [("POST", "/Users", {"schemas": [USER], "userName": name}) for name in names]
    )

    statuses = sorted(response.status_code for response in responses)
    assert statuses == [201] + [409] * (PARALLEL - 1), [describe(r) for r in responses]
    for response in responses:
        if response.status_code == 409:
            assert_error(response, 409, "uniqueness")
    [winner] = [r.json() for r in responses if r.status_code == 201]
    found = scim.search("Users", 'userName eq "race@riverside.test"')
    assert [user["id"] for user in found] == [winner["id"]]


def test_parallel_creates_of_one_group_display_name(scim):
    names = [
        "Night Shift",
        "NIGHT SHIFT",
        "night shift",
        "Night shift",
        "NIGHT shift",
        "night SHIFT",
        "NiGhT ShIfT",
        "nIgHt sHiFt",
    ]

    responses = race(
        scim, [("POST", "/Groups", {"schemas": [GROUP], "displayName": name}) for name in names]
    )

    statuses = sorted(response.status_code for response in responses)
    assert statuses == [201] + [409] * (PARALLEL - 1), [describe(r) for r in responses]
    assert len(scim.search("Groups", 'displayName eq "night shift"')) == 1


def test_parallel_member_adds_to_one_group_lose_nothing(scim):
    group = scim.create_group("Everyone")
    users = [scim.create_user(f"user{n:02d}@riverside.test")["id"] for n in range(PARALLEL * 5)]
    batches = [users[n::PARALLEL] for n in range(PARALLEL)]

    responses = race(
        scim,
        [
            (
                "PATCH",
                f"/Groups/{group['id']}",
                {
                    "schemas": [PATCH_OP],
                    "Operations": [
                        {"op": "Add", "path": "members", "value": [{"value": uid} for uid in batch]}
                    ],
                },
            )
            for batch in batches
        ],
    )

    assert [r.status_code for r in responses] == [204] * PARALLEL, [describe(r) for r in responses]
    assert scim.member_ids(group["id"]) == set(users)


def test_parallel_adds_and_removes_of_different_members_commute(scim):
    group = scim.create_group("Mixed")
    users = [scim.create_user(f"user{n:02d}@riverside.test")["id"] for n in range(PARALLEL)]
    staying, leaving = users[: PARALLEL // 2], users[PARALLEL // 2 :]
    joining = [scim.create_user(f"new{n:02d}@riverside.test")["id"] for n in range(PARALLEL // 2)]
    response = scim.patch_ops(
        f"/Groups/{group['id']}",
        {"op": "add", "path": "members", "value": [{"value": uid} for uid in users]},
    )
    assert response.status_code == 204, describe(response)
    operations = [{"op": "remove", "path": f'members[value eq "{uid}"]'} for uid in leaving]
    operations += [{"op": "add", "path": "members", "value": [{"value": uid}]} for uid in joining]

    responses = race(
        scim,
        [
            ("PATCH", f"/Groups/{group['id']}", {"schemas": [PATCH_OP], "Operations": [operation]})
            for operation in operations
        ],
    )

    assert [r.status_code for r in responses] == [204] * PARALLEL, [describe(r) for r in responses]
    assert scim.member_ids(group["id"]) == set(staying) | set(joining)


def test_the_same_member_added_in_parallel_is_listed_once(scim):
    group = scim.create_group("Once")
    user = scim.create_user("once@riverside.test")

    responses = race(
        scim,
        [
            (
                "PATCH",
                f"/Groups/{group['id']}",
                {
                    "schemas": [PATCH_OP],
                    "Operations": [
                        {"op": "add", "path": "members", "value": [{"value": user["id"]}]}
                    ],
                },
            )
        ]
        * PARALLEL,
    )

    assert [r.status_code for r in responses] == [204] * PARALLEL, [describe(r) for r in responses]
    assert [m["value"] for m in scim.read(f"/Groups/{group['id']}")["members"]] == [user["id"]]


def test_parallel_patches_of_different_attributes_of_one_user_lose_nothing(scim):
    """No lost update when Entra's workers patch the same user at once."""
    user = scim.create_user("busy@riverside.test")
    values = {
        "title": "Nurse",
        "nickName": "Busy",
        "displayName": "Busy Bee",
        "preferredLanguage": "en-US",
        "locale": "en-US",
        "timezone": "America/Chicago",
        "userType": "Employee",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "ER",
    }

    responses = race(
        scim,
        [
            (
                "PATCH",
                f"/Users/{user['id']}",
                {
                    "schemas": [PATCH_OP],
                    "Operations": [{"op": "Replace", "path": path, "value": value}],
                },
            )
            for path, value in values.items()
        ],
    )

    assert [r.status_code for r in responses] == [200] * PARALLEL, [describe(r) for r in responses]
    after = scim.read(f"/Users/{user['id']}")
    for path, value in values.items():
        schema, _, attribute = path.rpartition(":")
        assert (after[schema][attribute] if schema else after[path]) == value, path


def test_deleting_a_user_while_it_is_added_to_groups_leaves_no_dangling_member(scim):
    user = scim.create_user("leaving@riverside.test")
    groups = [scim.create_group(f"Group {n}")["id"] for n in range(PARALLEL - 1)]

    responses = race(
        scim,
        [("DELETE", f"/Users/{user['id']}", None)]
        + [
            (
                "PATCH",
                f"/Groups/{group_id}",
                {
                    "schemas": [PATCH_OP],
                    "Operations": [
                        {"op": "add", "path": "members", "value": [{"value": user["id"]}]}
                    ],
                },
            )
            for group_id in groups
        ],
    )

    assert responses[0].status_code == 204, describe(responses[0])
    for response in responses[1:]:
        assert response.status_code in (204, 400), describe(response)
    assert_error(scim.get(f"/Users/{user['id']}"), 404)
    for group_id in groups:
        assert scim.member_ids(group_id) == set()


def test_the_same_username_in_two_tenants_at_once_is_created_in_both(scim, other_scim):
    """Uniqueness is per organization, also when the creates race."""
    body = {"schemas": [USER], "userName": "shared@clinic.test"}

    responses = race(scim, [("POST", "/Users", body)] * (PARALLEL // 2))
    others = race(other_scim, [("POST", "/Users", body)] * (PARALLEL // 2))

    assert sorted(r.status_code for r in responses) == [201] + [409] * (PARALLEL // 2 - 1)
    assert sorted(r.status_code for r in others) == [201] + [409] * (PARALLEL // 2 - 1)
    mine = scim.search("Users", 'userName eq "shared@clinic.test"')
    theirs = other_scim.search("Users", 'userName eq "shared@clinic.test"')
    assert len(mine) == len(theirs) == 1 and mine[0]["id"] != theirs[0]["id"]


def test_deleting_a_group_while_members_are_added_is_clean(scim):
    group = scim.create_group("Closing")
    users = [scim.create_user(f"u{n}@riverside.test")["id"] for n in range(PARALLEL - 1)]

    responses = race(
        scim,
        [("DELETE", f"/Groups/{group['id']}", None)]
        + [
            (
                "PATCH",
                f"/Groups/{group['id']}",
                {
                    "schemas": [PATCH_OP],
                    "Operations": [{"op": "add", "path": "members", "value": [{"value": uid}]}],
                },
            )
            for uid in users
        ],
    )

    assert responses[0].status_code == 204, describe(responses[0])
    for response in responses[1:]:
        assert response.status_code in (204, 404), describe(response)
    assert_error(scim.get(f"/Groups/{group['id']}"), 404)
    for uid in users:
        assert scim.read(f"/Users/{uid}").get("groups", []) == []


def test_parallel_renames_onto_one_username_let_exactly_one_win(scim):
    users = [scim.create_user(f"u{n}@riverside.test")["id"] for n in range(PARALLEL)]

    responses = race(
        scim,
        [
            (
                "PATCH",
                f"/Users/{uid}",
                {
                    "schemas": [PATCH_OP],
                    "Operations": [
                        {
                            "op": "replace",
                            "path": "userName",
                            "value": f"Wanted{n}@Riverside.test".lower()
                            if n % 2
                            else "WANTED@riverside.test",
                        }
                    ],
                },
            )
            for n, uid in enumerate(users)
        ],
    )

    wanted = [r for n, r in enumerate(responses) if not n % 2]
    assert sorted(r.status_code for r in wanted) == [200] + [409] * (len(wanted) - 1), [
        describe(r) for r in wanted
    ]
    assert len(scim.search("Users", 'userName eq "wanted@riverside.test"')) == 1
    assert all(r.status_code == 200 for n, r in enumerate(responses) if n % 2)


def test_an_azure_shaped_parallel_burst_creates_and_deactivates_every_user(scim):
    """Eight workers each match, create and deactivate users at once, as Azure's cycle does.
    Throughput (the gallery's 25 requests/s and more) is measured by bench/azure_load.py."""

    def cycle(worker: int) -> list[int]:
        client = ScimClient(scim.base, scim.token)
        statuses = []
        try:
            for n in range(10):
                name = f"burst{worker}-{n}@riverside.test"
                statuses.append(
                    client.session.get(
                        client.url(f"/Users?filter=userName+eq+%22{name}%22"), timeout=30
                    ).status_code
                )
                created = client.post("/Users", {"schemas": [USER], "userName": name})
                statuses.append(created.status_code)
                statuses.append(
                    client.patch(
                        f"/Users/{created.json()['id']}",
                        {
                            "schemas": [PATCH_OP],
                            "Operations": [{"op": "Replace", "path": "active", "value": "False"}],
                        },
                    ).status_code
                )
        finally:
            client.session.close()
        return statuses

    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        statuses = [s for result in pool.map(cycle, range(PARALLEL)) for s in result]

    assert sorted(set(statuses)) == [200, 201]
    assert statuses.count(201) == PARALLEL * 10
    burst = scim.search("Users", 'userName sw "burst"')
    assert len(burst) == PARALLEL * 10
    assert all(user["active"] is False for user in burst)
