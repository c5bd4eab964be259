"""Every SCIM request runs a bounded number of SQL queries, whatever the size of the tenant
or the group. Each bound is the count measured on PostgreSQL
and SQLite, with the auth lookup and the throttled last-used write included."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from scim.models import GroupMembership

from .conftest import bulk_users, make_group, make_user


@pytest.fixture(autouse=True)
def _scim_layer_only(without_sync_history):
    """Measure the SCIM layer alone: the sync history (portal app) writes its own rows per
    request and keeps its own query budget."""


# Auth: one token lookup, plus at most one last_used_at write (throttled, organizations app).
AUTH = 2
# Directory events of a write (directory.outbox): position upsert, event insert, endpoint lookup.
EVENTS = 3
# Member events add a lookup of the members' names; 1,000 of them insert in up to 12 batches of
# SQLite's bound parameters (one statement on PostgreSQL).
MEMBER_EVENTS = EVENTS + 1 + 11


@pytest.fixture
def hundred_users(scim):
    return bulk_users(scim.organization, 100)


def add_members(group, users):
    GroupMembership.objects.bulk_create(
        [GroupMembership(group=group, user=user) for user in users], batch_size=500
    )


def test_a_100_user_page_costs_a_fixed_number_of_queries(
    scim, hundred_users, django_assert_max_num_queries
):
    group = make_group(scim.organization, "Everyone")
    add_members(group, hundred_users)

    with django_assert_max_num_queries(AUTH + 3):  # count, page, groups of the page
        response = scim.get("/Users", {"count": 100})

    assert response.json()["itemsPerPage"] == 100
    assert all(r["groups"] for r in response.json()["Resources"])


def test_a_filtered_user_search_costs_a_fixed_number_of_queries(
    scim, hundred_users, django_assert_max_num_queries
):
    with django_assert_max_num_queries(AUTH + 3):
        response = scim.get("/Users", {"filter": 'userName sw "user1"'})

    assert response.json()["totalResults"] == 11


def test_an_azure_lookup_that_finds_nobody_costs_one_query_past_auth(
    scim, hundred_users, django_assert_max_num_queries
):
    with django_assert_max_num_queries(AUTH + 1) as captured:  # the page, short: no COUNT
        response = scim.get("/Users", {"filter": 'userName eq "nobody@example.com"'})

    assert response.json()["totalResults"] == 0
    assert not any("COUNT(" in q["sql"] for q in captured.captured_queries)


def test_an_azure_lookup_that_finds_its_user_costs_two_queries_past_auth(
    scim, hundred_users, django_assert_max_num_queries
):
    user_name = hundred_users[7].user_name
    with django_assert_max_num_queries(AUTH + 2):  # the page, the page's groups
        response = scim.get("/Users", {"filter": f'userName eq "{user_name}"'})

    assert response.json()["totalResults"] == 1


def test_reading_a_10000_member_group_without_members_does_not_touch_them(
    scim, django_assert_max_num_queries
):
    users = bulk_users(scim.organization, 10_000)
    group = make_group(scim.organization, "Everyone")
    add_members(group, users)

    with django_assert_max_num_queries(AUTH + 1) as captured:
        response = scim.get(f"/Groups/{group.scim_id}", {"excludedAttributes": "members"})

    assert response.status_code == 200
    assert "members" not in response.json()
    assert not any("membership" in q["sql"] for q in captured.captured_queries)


def test_listing_groups_without_members_does_not_touch_them(scim, django_assert_max_num_queries):
    users = bulk_users(scim.organization, 50)
    for n in range(5):
        add_members(make_group(scim.organization, f"Group {n}"), users)

    with django_assert_max_num_queries(AUTH + 2):
        response = scim.get(
            "/Groups", {"excludedAttributes": "members", "filter": 'displayName sw "group"'}
        )

    assert response.json()["totalResults"] == 5


def test_reading_a_group_with_members_is_one_query_for_all_members(
    scim, django_assert_max_num_queries
):
    users = bulk_users(scim.organization, 1_000)
    group = make_group(scim.organization, "Everyone")
    add_members(group, users)

    with django_assert_max_num_queries(AUTH + 2):
        response = scim.get(f"/Groups/{group.scim_id}")

    assert len(response.json()["members"]) == 1_000


# Measured (tests run inside a transaction, so the request's own transaction shows as a
# SAVEPOINT/RELEASE pair; in production it is BEGIN/COMMIT, not counted):
# add = savepoint, lock group, resolve ids, existing members, insert (3 batches on SQLite),
#       SET CONSTRAINTS IMMEDIATE/DEFERRED (PostgreSQL), bump version, release.
ADD_MEMBERS_BUDGET = AUTH + 9 + MEMBER_EVENTS
# remove = savepoint, lock group, resolve ids, the removed members' ids (for the history and the
#          directory events), one DELETE, bump version, release.
REMOVE_MEMBERS_BUDGET = AUTH + 7 + MEMBER_EVENTS


def test_adding_1000_members_in_one_patch_costs_a_fixed_number_of_queries(
    scim, django_assert_max_num_queries
):
    users = bulk_users(scim.organization, 1_000)
    group = make_group(scim.organization, "Everyone")
    operation = {
        "op": "Add",
        "path": "members",
        "value": [{"value": str(user.scim_id)} for user in users],
    }

    with django_assert_max_num_queries(ADD_MEMBERS_BUDGET):
        response = scim.patch_ops(f"/Groups/{group.scim_id}", operation)

    assert response.status_code == 204
    assert GroupMembership.objects.filter(group=group).count() == 1_000


def test_adding_members_costs_the_same_for_10_and_1000(scim):
    users = bulk_users(scim.organization, 1_010)
    small, large = make_group(scim.organization, "Small"), make_group(scim.organization, "Large")
    scim.get("/Users", {"count": 0})  # settle the throttled last_used_at write

    def cost(group, members):
        with CaptureQueriesContext(connection) as captured:
            scim.patch_ops(
                f"/Groups/{group.scim_id}",
                {
                    "op": "add",
                    "path": "members",
                    "value": [{"value": str(u.scim_id)} for u in members],
                },
            )
        return len([q for q in captured.captured_queries if "INSERT" not in q["sql"]])

    assert cost(small, users[:10]) == cost(large, users[10:])


def test_removing_1000_members_in_one_patch_costs_a_fixed_number_of_queries(
    scim, django_assert_max_num_queries
):
    users = bulk_users(scim.organization, 1_000)
    keep = make_user(scim.organization, "keep@riverside.example")
    group = make_group(scim.organization, "Everyone")
    add_members(group, [*users, keep])
    operation = {
        "op": "Remove",
        "path": "members",
        "value": [{"value": str(user.scim_id)} for user in users],
    }

    with django_assert_max_num_queries(REMOVE_MEMBERS_BUDGET):
        response = scim.patch_ops(f"/Groups/{group.scim_id}", operation)

    assert response.status_code == 204
    assert list(GroupMembership.objects.filter(group=group).values_list("user", flat=True)) == [
        keep.pk
    ]


def test_removing_100_members_one_filtered_operation_each_costs_what_one_operation_costs(
    scim, django_assert_max_num_queries
):
    """Entra's other removal dialect sends one ``members[value eq "id"]`` operation per member:
    a hundred of them in one PATCH must not run a hundred deletes."""
    users = bulk_users(scim.organization, 100)
    keep = make_user(scim.organization, "keep@riverside.example")
    group = make_group(scim.organization, "Everyone")
    add_members(group, [*users, keep])
    operations = [{"op": "remove", "path": f'members[value eq "{user.scim_id}"]'} for user in users]

    with django_assert_max_num_queries(REMOVE_MEMBERS_BUDGET):
        response = scim.patch_ops(f"/Groups/{group.scim_id}", *operations)

    assert response.status_code == 204
    assert list(GroupMembership.objects.filter(group=group).values_list("user", flat=True)) == [
        keep.pk
    ]


def test_adding_100_members_one_operation_each_costs_what_one_operation_costs(
    scim, django_assert_max_num_queries
):
    users = bulk_users(scim.organization, 100)
    group = make_group(scim.organization, "Everyone")
    operations = [
        {"op": "add", "path": "members", "value": [{"value": str(user.scim_id)}]} for user in users
    ]

    with django_assert_max_num_queries(ADD_MEMBERS_BUDGET):
        response = scim.patch_ops(f"/Groups/{group.scim_id}", *operations)

    assert response.status_code == 204
    assert GroupMembership.objects.filter(group=group).count() == 100


def test_user_patch_costs_a_fixed_number_of_queries(scim, django_assert_max_num_queries):
    user = make_user(scim.organization, "alice@riverside.example")

    # savepoint, lock, update, release, groups
    with django_assert_max_num_queries(AUTH + 5 + EVENTS):
        response = scim.patch_ops(
            f"/Users/{user.scim_id}",
            {"op": "replace", "path": "active", "value": "False"},
            {"op": "replace", "path": "displayName", "value": "Alice"},
        )

    assert response.status_code == 200


def test_user_create_costs_a_fixed_number_of_queries(scim, django_assert_max_num_queries):
    with django_assert_max_num_queries(AUTH + 3 + EVENTS):  # savepoint, insert, release
        response = scim.post("/Users", {"userName": "new@riverside.example"})

    assert response.status_code == 201


def test_query_counts_are_scoped_to_the_organization(
    scim, other_scim, django_assert_max_num_queries
):
    bulk_users(other_scim.organization, 300, prefix="foreign")
    bulk_users(scim.organization, 3)

    with django_assert_max_num_queries(AUTH + 3):
        response = scim.get("/Users")

    assert response.json()["totalResults"] == 3


KNO2 = "urn:ietf:params:scim:schemas:extension:kno2:2.0:User"


def test_a_create_with_new_extension_attributes_adds_two_queries_whatever_their_number(
    scim, django_assert_max_num_queries
):
    # The user's three, plus reading the organization's known attributes and one insert.
    with django_assert_max_num_queries(AUTH + 5 + EVENTS):
        response = scim.post(
            "/Users", {"userName": "new@riverside.example", KNO2: {f"a{n}": "v" for n in range(50)}}
        )

    assert response.status_code == 201


def test_a_create_with_known_extension_attributes_adds_one_query(
    scim, django_assert_max_num_queries
):
    make_user(scim.organization, "first@riverside.example", **{KNO2: {"npi": "1"}})

    with django_assert_max_num_queries(AUTH + 4 + EVENTS):
        response = scim.post("/Users", {"userName": "new@riverside.example", KNO2: {"npi": "2"}})

    assert response.status_code == 201


def test_a_patch_of_an_extension_attribute_adds_at_most_two_queries(
    scim, django_assert_max_num_queries
):
    user = make_user(scim.organization, "alice@riverside.example")

    with django_assert_max_num_queries(AUTH + 7 + EVENTS):
        response = scim.patch_ops(
            f"/Users/{user.scim_id}", {"op": "add", "path": f"{KNO2}:npi", "value": "1"}
        )

    assert response.status_code == 200


def test_schemas_cost_one_query_whatever_the_number_of_extension_attributes(
    scim, django_assert_max_num_queries
):
    make_user(
        scim.organization, "first@riverside.example", **{KNO2: {f"a{n}": "v" for n in range(100)}}
    )

    with django_assert_max_num_queries(AUTH + 1):
        response = scim.get("/Schemas")

    assert len(response.json()["Resources"]) == 4


def test_entras_membership_check_is_one_query_whatever_the_group_size(
    scim, django_assert_max_num_queries
):
    users = bulk_users(scim.organization, 1000)
    group = make_group(scim.organization, "Everyone")
    add_members(group, users)
    check = {
        "excludedAttributes": "members",
        "filter": f'id eq "{group.scim_id}" and members eq "{users[500].scim_id}"',
    }

    with django_assert_max_num_queries(AUTH + 2):  # count, page
        response = scim.get("/Groups", check)

    assert response.json()["totalResults"] == 1
