"""``scim.calls.ScimCall``: what each SCIM request did, for history, rate limits and metrics.

The record exists even when the request fails, and only an authenticated call has an
organization."""

from __future__ import annotations

import pytest

from scim.calls import ScimCall, current_call

from .conftest import ScimClient, make_group, make_user


def event(response) -> ScimCall:
    return current_call(response.wsgi_request)


def test_create_user_event(scim):
    response = scim.post("/Users", {"userName": "alice@riverside.example", "externalId": "e-1"})

    recorded = event(response)
    assert recorded.operation == "create_user"
    assert recorded.resource_type == "User"
    assert recorded.resource_id == response.json()["id"]
    assert recorded.external_id == "e-1"
    assert recorded.display_name == "alice@riverside.example"


def test_failed_create_still_describes_the_attempt(scim):
    make_user(scim.organization, "alice@riverside.example")

    response = scim.post("/Users", {"userName": "ALICE@riverside.example"})

    assert response.status_code == 409
    recorded = event(response)
    assert recorded.operation == "create_user"
    assert recorded.display_name == "ALICE@riverside.example"
    assert recorded.resource_id == ""


def test_update_user_event_lists_changes_with_old_and_new_values(scim):
    user = make_user(scim.organization, "alice@riverside.example", name={"givenName": "Al"})

    response = scim.patch_ops(
        f"/Users/{user.scim_id}",
        {"op": "replace", "path": "name.givenName", "value": "Alice"},
        {"op": "add", "path": "title", "value": "Nurse"},
    )

    recorded = event(response)
    assert recorded.operation == "update_user"
    assert recorded.changes == [
        {"attribute": "name.givenName", "old": "Al", "new": "Alice"},
        {"attribute": "title", "old": None, "new": "Nurse"},
    ]


@pytest.mark.parametrize(
    "first, second, operation",
    [
        (True, "False", "deactivate_user"),
        (False, "True", "reactivate_user"),
    ],
)
def test_active_changes_are_named_deactivate_and_reactivate(scim, first, second, operation):
    user = make_user(scim.organization, "alice@riverside.example", active=first)

    response = scim.patch_ops(
        f"/Users/{user.scim_id}", {"op": "Replace", "path": "active", "value": second}
    )

    assert event(response).operation == operation


def test_password_never_appears_in_changes(scim):
    user = make_user(scim.organization, "alice@riverside.example")

    response = scim.put(
        f"/Users/{user.scim_id}", {"userName": "alice@riverside.example", "password": "Secret-123"}
    )

    assert "Secret-123" not in str(event(response))


def test_get_and_delete_user_events(scim):
    user = make_user(scim.organization, "alice@riverside.example")

    got = event(scim.get(f"/Users/{user.scim_id}"))
    deleted = event(scim.delete(f"/Users/{user.scim_id}"))

    assert (got.operation, got.display_name) == ("get_user", "alice@riverside.example")
    assert (deleted.operation, deleted.resource_id) == ("delete_user", str(user.scim_id))


def test_list_event_records_filter_and_results(scim):
    make_user(scim.organization, "alice@riverside.example")

    recorded = event(scim.get("/Users", {"filter": 'userName eq "ALICE@riverside.example"'}))

    assert recorded.operation == "list_users"
    assert recorded.filter == 'userName eq "ALICE@riverside.example"'
    assert recorded.results == 1


def test_member_changes_are_counted(scim):
    users = [make_user(scim.organization, f"u{n}@riverside.example") for n in range(3)]
    group = make_group(scim.organization, "Nurses", users[:1])

    response = scim.patch_ops(
        f"/Groups/{group.scim_id}",
        {"op": "Add", "path": "members", "value": [{"value": str(u.scim_id)} for u in users]},
        {"op": "Remove", "path": "members", "value": [{"value": str(users[0].scim_id)}]},
    )

    recorded = event(response)
    assert recorded.operation == "update_members"
    assert (recorded.members_added, recorded.members_removed) == (2, 1)
    assert recorded.display_name == "Nurses"


def test_rename_group_event(scim):
    group = make_group(scim.organization, "Nurses")

    response = scim.patch_ops(
        f"/Groups/{group.scim_id}",
        {"op": "Replace", "path": "displayName", "value": "Night Nurses"},
    )

    recorded = event(response)
    assert recorded.operation == "rename_group"
    assert recorded.changes == [
        {"attribute": "displayName", "old": "Nurses", "new": "Night Nurses"}
    ]


@pytest.mark.parametrize(
    "path, operation",
    [
        ("/Groups", "list_groups"),
        ("/Schemas", "discovery"),
        ("/ResourceTypes", "discovery"),
        ("/ServiceProviderConfig", "discovery"),
    ],
)
def test_read_operations_are_named(scim, path, operation):
    assert event(scim.get(path)).operation == operation


def test_create_and_delete_group_events(scim):
    created = scim.post("/Groups", {"displayName": "Nurses", "externalId": "g-1"})
    deleted = scim.delete(f"/Groups/{created.json()['id']}")

    assert event(created).operation == "create_group"
    assert event(created).external_id == "g-1"
    assert event(deleted).operation == "delete_group"


def test_unauthorized_request_still_has_a_call_record_and_no_organization(scim, other_scim):
    response = ScimClient.in_process(scim.organization, other_scim.token).get("/Users")

    assert response.status_code == 401
    assert event(response).operation == "list_users"
    assert event(response).organization is None
    assert event(response).authentication_refused


def test_events_of_two_organizations_name_their_own_resources(scim, other_scim):
    mine = scim.post("/Users", {"userName": "alice@riverside.example"})
    theirs = other_scim.post("/Users", {"userName": "alice@riverside.example"})

    assert event(mine).resource_id != event(theirs).resource_id
    assert event(mine).organization == scim.organization
    assert event(theirs).organization == other_scim.organization


def test_malformed_create_records_no_odd_subject(scim):
    response = scim.post("/Users", {"userName": {"not": "a string"}, "externalId": 7})

    assert response.status_code == 400
    assert event(response).display_name == ""
    assert event(response).external_id == ""


def test_the_call_names_the_credential_that_authenticated_it(scim, token):
    credential = event(scim.get("/Users")).credential

    assert (credential.kind, credential.public_id, credential.token) == (
        "secret_token",
        token[0].display_prefix,
        token[0],
    )


def test_the_call_notes_the_scim_error_it_ended_with(scim):
    recorded = event(scim.get("/Users", {"filter": 'bogus eq "x"'}))

    assert (recorded.status_code, recorded.scim_type) == (400, "invalidFilter")
    assert "bogus" in recorded.error_detail
