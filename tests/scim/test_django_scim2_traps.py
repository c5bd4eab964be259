"""The traps django-scim2 0.23.0's defaults set, one test each, so none of
them comes back through an upgrade or a refactor."""

from __future__ import annotations

from scim.models import GroupMembership

from .conftest import ScimClient, bulk_users, make_group, make_user


def test_locations_are_built_under_the_per_tenant_prefix_not_by_reverse(scim):
    # Trap: reverse() cannot rebuild /scim/v2/<tenant>/… and location was wrong or crashed.
    body = scim.post("/Users", {"userName": "alice@riverside.example"}).json()

    assert body["meta"]["location"] == f"{scim.organization.scim_base_url}/Users/{body['id']}"


def test_or_filter_cannot_escape_the_tenant_clause(scim, other_scim):
    # Trap: raw SQL "WHERE a OR b AND tenant" leaked rows of other tenants.
    make_user(other_scim.organization, "mallory@lakeside.example")
    leaky = 'userName eq "x" or userName eq "mallory@lakeside.example"'

    body = scim.get("/Users", {"filter": leaky})

    assert body.json()["totalResults"] == 0


def test_filtered_search_is_narrowed_by_the_database_not_in_python(
    scim, other_scim, django_assert_max_num_queries, without_sync_history
):
    # Trap: filters ran over every tenant and were narrowed in Python, row by row.
    bulk_users(other_scim.organization, 200, prefix="user")

    with django_assert_max_num_queries(5) as captured:
        body = scim.get("/Users", {"filter": 'userName sw "user"'}).json()

    assert body["totalResults"] == 0
    scoped = [q["sql"] for q in captured.captured_queries if "scim_scimuser" in q["sql"]]
    assert scoped and all("organization_id" in sql for sql in scoped)


def test_member_adds_resolve_ids_within_the_tenant_only(scim, other_scim):
    # Trap: members were looked up by integer id across every tenant.
    foreign = make_user(other_scim.organization, "bob@lakeside.example")
    group = make_group(scim.organization, "Nurses")

    response = scim.patch_ops(
        f"/Groups/{group.scim_id}",
        {
            "op": "add",
            "path": "members",
            "value": [{"value": str(foreign.pk)}, {"value": str(foreign.scim_id)}],
        },
    )

    assert response.status_code == 400
    assert not GroupMembership.objects.exists()


def test_auth_is_checked_on_every_path_under_a_tenant_url(scim):
    # Trap: the default check compared request.path with a prefix and could fail open.
    anonymous = ScimClient.in_process(scim.organization, None)

    for path in ("/Users", "/Users/x", "/Groups", "/Schemas", "/Bulk", "/anything/else", "/"):
        assert anonymous.get(path).status_code == 401, path


def test_list_pagination_does_not_load_every_row(
    scim, django_assert_max_num_queries, without_sync_history
):
    # Trap: all rows were loaded, then one query per user (101 queries for 100 users).
    bulk_users(scim.organization, 150)

    with django_assert_max_num_queries(5) as captured:
        body = scim.get("/Users", {"count": 100}).json()

    assert body["itemsPerPage"] == 100 and body["totalResults"] == 150
    assert any("LIMIT 100" in q["sql"] for q in captured.captured_queries)


def test_adding_100_members_is_not_106_queries(
    scim, django_assert_max_num_queries, without_sync_history
):
    users = bulk_users(scim.organization, 100)
    group = make_group(scim.organization, "Nurses")

    # The same as for 1,000 members: see test_query_counts.ADD_MEMBERS_BUDGET (plus its
    # directory events: member names, position upsert, event insert, endpoint lookup).
    with django_assert_max_num_queries(11 + 4 + 2):
        scim.patch_ops(
            f"/Groups/{group.scim_id}",
            {"op": "add", "path": "members", "value": [{"value": str(u.scim_id)} for u in users]},
        )

    assert GroupMembership.objects.filter(group=group).count() == 100


def test_user_without_email_is_not_given_an_empty_email(scim):
    body = scim.post("/Users", {"userName": "alice@riverside.example"}).json()

    assert "emails" not in body


def test_boolean_active_in_patch_is_applied_not_501(scim):
    user = make_user(scim.organization, "alice@riverside.example")

    response = scim.patch_ops(
        f"/Users/{user.scim_id}", {"op": "replace", "path": "active", "value": False}
    )

    assert response.status_code == 200
    assert response.json()["active"] is False


def test_discovery_list_responses_carry_total_results(scim):
    for path in ("/Schemas", "/ResourceTypes"):
        body = scim.get(path).json()
        assert body["totalResults"] == len(body["Resources"]), path
