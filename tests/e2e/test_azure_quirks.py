"""Azure AD's quirks and the behaviours it relies on without spelling them out
(docs/azure-scim-client.md §3), over real HTTP against gunicorn: the filters it sends, attribute
selection, uniqueness on renames, member batches, every manager shape, re-provisioning and Accept
headers.
"""

from __future__ import annotations

import json

import pytest

from tests.schemas import ENTERPRISE, SCIM_JSON, USER
from tests.scim_client import assert_error, assert_list_response, assert_scim_json, describe

from .azure import (
    CREATE_GROUP,
    CREATE_USER,
    assert_no_content,
    assert_user_patched,
    create_ms_group,
    create_ms_user,
    patch_body,
)

pytestmark = pytest.mark.django_db(transaction=True)


# §3.2 The filters Entra sends, and what list responses carry ---------------------------------


def test_the_filters_entra_sends_match_case_insensitively(scim):
    user = create_ms_user(scim)
    scim.create_user(
        "other@testuser.com",
        externalId="other-ext",
        emails=[{"type": "work", "value": "other@testuser.com"}],
    )
    work_email = CREATE_USER["emails"][0]["value"]

    for filter_ in (
        f'userName eq "{CREATE_USER["userName"].upper()}"',
        f'externalId eq "{CREATE_USER["externalId"]}"',
        f'emails[type eq "work"].value eq "{work_email.upper()}"',
        f'userName eq "{CREATE_USER["userName"]}" and externalId eq "{CREATE_USER["externalId"]}"',
    ):
        assert [u["id"] for u in scim.search("Users", filter_)] == [user["id"]], filter_
    assert (
        scim.search(
            "Users", f'userName eq "{CREATE_USER["userName"]}" and externalId eq "other-ext"'
        )
        == []
    )


def test_attributes_parameter_limits_what_a_list_returns(scim):
    """RFC 7644 §3.9: only the requested attributes, plus ``id`` (returned "always")."""
    create_ms_user(scim)

    body = assert_list_response(scim.get("/Users?attributes=userName,emails"))

    [user] = body["Resources"]
    assert set(user) - {"schemas", "meta"} == {"id", "userName", "emails"}
    assert user["emails"] == CREATE_USER["emails"]


def test_user_without_email_has_no_emails_attribute(scim):
    """django-scim2's default answers ``emails: [{"value": ""}]``; Azure would read that back
    as an empty address."""
    created = scim.create_user("no-email@testuser.com")

    assert "emails" not in created
    assert "emails" not in scim.read(f"/Users/{created['id']}")
    [listed] = scim.search("Users", 'userName eq "no-email@testuser.com"')
    assert "emails" not in listed


def test_renaming_onto_another_users_name_is_409_and_changes_nothing(scim):
    """The validator's "Update Joining Property" with a name already taken (RFC 7644 §3.5.2,
    §3.12 uniqueness), by PATCH and by PUT."""
    first = create_ms_user(scim)
    second = scim.create_user("second@testuser.com", displayName="Second")
    taken = CREATE_USER["userName"].upper()

    assert_error(
        scim.patch(
            f"/Users/{second['id']}",
            patch_body(
                {"op": "Replace", "path": "displayName", "value": "Changed"},
                {"op": "Replace", "path": "userName", "value": taken},
            ),
        ),
        409,
        "uniqueness",
    )
    assert_error(
        scim.put(
            f"/Users/{second['id']}",
            {"schemas": [USER], "userName": taken, "displayName": "Changed"},
        ),
        409,
        "uniqueness",
    )

    after = scim.read(f"/Users/{second['id']}")
    assert (after["userName"], after["displayName"]) == ("second@testuser.com", "Second")
    assert scim.read(f"/Users/{first['id']}")["userName"] == CREATE_USER["userName"]


def test_renaming_a_group_onto_another_groups_name_is_409(scim):
    create_ms_group(scim)
    other = scim.create_group("Other group")

    assert_error(
        scim.patch(
            f"/Groups/{other['id']}",
            patch_body({"op": "Replace", "path": "displayName", "value": "DISPLAYNAME"}),
        ),
        409,
        "uniqueness",
    )

    assert scim.read(f"/Groups/{other['id']}")["displayName"] == "Other group"


def test_put_replaces_the_whole_user(scim):
    """RFC 7644 §3.5.1: attributes left out of a PUT are cleared; ``id`` never changes."""
    user = create_ms_user(scim)
    replacement = {
        "schemas": [USER],
        "userName": CREATE_USER["userName"],
        "active": False,
        "displayName": "Replaced",
        "name": {"givenName": "New"},
    }

    response = scim.put(f"/Users/{user['id']}", replacement)

    assert response.status_code == 200, describe(response)
    assert_scim_json(response)
    after = scim.read(f"/Users/{user['id']}")
    assert after["id"] == user["id"]
    assert after["displayName"] == "Replaced"
    assert after["active"] is False
    assert after["name"] == {"givenName": "New"}
    assert "emails" not in after and "externalId" not in after
    assert after["meta"]["created"] == user["meta"]["created"]
    assert after["meta"]["version"] != user["meta"]["version"]


def test_one_group_patch_with_several_member_operations_applies_them_in_order(scim):
    """Entra batches member changes; operations apply in order, atomically (RFC 7644 §3.5.2)."""
    group = create_ms_group(scim)
    users = [scim.create_user(f"m{n}@testuser.com")["id"] for n in range(5)]

    assert_no_content(
        scim.patch(
            f"/Groups/{group['id']}",
            patch_body(
                {"op": "Add", "path": "members", "value": [{"value": uid} for uid in users[:4]]},
                {"op": "Remove", "path": "members", "value": [{"value": users[0]}]},
                {"op": "remove", "path": f'members[value eq "{users[1]}"]'},
                {
                    "op": "add",
                    "path": "members",
                    "value": [{"value": users[4]}, {"value": users[2]}],
                },
            ),
        )
    )

    assert scim.member_ids(group["id"]) == {users[2], users[3], users[4]}


def test_remove_members_without_value_or_filter_empties_the_group(scim):
    """RFC 7644 §3.5.2.2: no filter and no value removes all values. Only the value-list form
    that Entra sends must never do that (tested above)."""
    group = create_ms_group(scim)
    user = scim.create_user("member@testuser.com")
    scim.patch(
        f"/Groups/{group['id']}",
        patch_body({"op": "Add", "path": "members", "value": [{"value": user["id"]}]}),
    )

    assert_no_content(
        scim.patch(f"/Groups/{group['id']}", patch_body({"op": "remove", "path": "members"}))
    )

    assert scim.member_ids(group["id"]) == set()
    assert scim.read(f"/Users/{user['id']}")["id"] == user["id"]


def test_group_lists_and_reads_honour_attributes_and_excluded_members(scim):
    group = create_ms_group(scim)
    user = scim.create_user("member@testuser.com")
    scim.patch(
        f"/Groups/{group['id']}",
        patch_body({"op": "Add", "path": "members", "value": [{"value": user["id"]}]}),
    )

    listed = assert_list_response(scim.get("/Groups?excludedAttributes=members"))
    assert [("members" in g, g["displayName"]) for g in listed["Resources"]] == [
        (False, "displayName")
    ]
    only_name = scim.read(f"/Groups/{group['id']}?attributes=displayName")
    assert set(only_name) - {"schemas", "meta"} == {"id", "displayName"}
    [member] = scim.read(f"/Groups/{group['id']}")["members"]
    assert member["value"] == user["id"]
    assert member["$ref"].endswith(f"/Users/{user['id']}")


@pytest.mark.parametrize(
    "removal",
    [
        {"op": "remove", "path": f"{ENTERPRISE}:manager"},
        {"op": "Replace", "path": f"{ENTERPRISE}:manager", "value": ""},
        {"op": "replace", "path": f"{ENTERPRISE}:manager", "value": {"value": ""}},
        {"op": "remove", "path": 'manager[value eq "{manager}"]'},
        {"op": "Remove", "path": "manager"},
    ],
    ids=[
        "remove-urn",
        "replace-empty-string",
        "replace-empty-value",
        "remove-filter",
        "remove-short-path",
    ],
)
def test_every_manager_removal_shape_clears_the_manager(scim, removal):
    """Reference §3.1: Entra and its validator remove a manager in all these shapes."""
    manager = scim.create_user("manager@testuser.com")
    report = scim.create_user(
        "report@testuser.com",
        schemas=[USER, ENTERPRISE],
        **{ENTERPRISE: {"manager": {"value": manager["id"]}, "department": "ER"}},
    )
    assert report[ENTERPRISE]["manager"]["value"] == manager["id"]
    operation = {**removal, "path": removal["path"].format(manager=manager["id"])}

    assert_user_patched(scim.patch(f"/Users/{report['id']}", patch_body(operation)), report["id"])

    after = scim.read(f"/Users/{report['id']}")
    assert "manager" not in after.get(ENTERPRISE, {})
    assert after[ENTERPRISE]["department"] == "ER"


@pytest.mark.parametrize(
    "value",
    [
        "{manager}",
        {"value": "{manager}"},
        [{"value": "{manager}"}],
        [{"$ref": None, "value": "{manager}"}],
    ],
    ids=["bare-string", "object", "list", "list-null-ref"],
)
@pytest.mark.parametrize(
    "op, path",
    [("Add", "manager"), ("replace", f"{ENTERPRISE}:manager"), ("add", f"{ENTERPRISE}:manager")],
)
def test_every_manager_set_shape_sets_the_manager(scim, op, path, value):
    manager = scim.create_user("manager@testuser.com")
    report = scim.create_user("report@testuser.com")
    value = json.loads(json.dumps(value).replace("{manager}", manager["id"]))

    assert_user_patched(
        scim.patch(f"/Users/{report['id']}", patch_body({"op": op, "path": path, "value": value})),
        report["id"],
    )

    after = scim.read(f"/Users/{report['id']}")
    assert after[ENTERPRISE]["manager"]["value"] == manager["id"]
    assert ENTERPRISE in after["schemas"]


def test_patch_with_the_extension_urn_as_path(scim):
    """RFC 7644 §3.10: the extension's schema URN is itself an attribute path."""
    user = scim.create_user("alice@testuser.com")

    assert_user_patched(
        scim.patch(
            f"/Users/{user['id']}",
            patch_body({"op": "add", "path": ENTERPRISE, "value": {"department": "X"}}),
        ),
        user["id"],
    )
    after = scim.read(f"/Users/{user['id']}")
    assert after[ENTERPRISE] == {"department": "X"}
    assert set(after["schemas"]) == {USER, ENTERPRISE}

    assert_user_patched(
        scim.patch(f"/Users/{user['id']}", patch_body({"op": "remove", "path": ENTERPRISE})),
        user["id"],
    )
    after = scim.read(f"/Users/{user['id']}")
    assert ENTERPRISE not in after
    assert after["schemas"] == [USER]


def test_remove_active_is_applied_or_refused(scim):
    """``active`` is optional (RFC 7643 §4.1.1), so a remove either unassigns it or is refused;
    it is never acknowledged while the value stays."""
    user = scim.create_user("alice@testuser.com")

    response = scim.patch(f"/Users/{user['id']}", patch_body({"op": "remove", "path": "active"}))

    if response.status_code == 400:
        assert_error(response, 400)
        assert scim.read(f"/Users/{user['id']}")["active"] is True
    else:
        assert_user_patched(response, user["id"])
        assert "active" not in scim.read(f"/Users/{user['id']}")


def test_names_of_deleted_resources_can_be_provisioned_again(scim):
    """After a hard delete (§3.4) Entra may provision the same person or group again."""
    user = create_ms_user(scim)
    group = create_ms_group(scim)
    assert_no_content(scim.delete(f"/Users/{user['id']}"))
    assert_no_content(scim.delete(f"/Groups/{group['id']}"))

    again = scim.post("/Users", {**CREATE_USER, "userName": CREATE_USER["userName"].upper()})
    group_again = scim.post("/Groups", {**CREATE_GROUP, "displayName": "DISPLAYNAME"})

    assert again.status_code == 201, describe(again)
    assert again.json()["id"] != user["id"]
    assert group_again.status_code == 201, describe(group_again)
    assert group_again.json()["id"] != group["id"]


@pytest.mark.parametrize(
    "accept",
    [
        None,
        "*/*",
        "application/json",
        SCIM_JSON,
        "application/scim+json; charset=utf-8",
        "application/json, text/plain, */*",
    ],
)
def test_any_accept_header_azure_might_send_gets_scim_json(scim, accept):
    """Reference §2.1: a Rails SP answered Test Connection with 406; never require an Accept."""
    response = scim.session.get(
        scim.url("/Users?filter=userName+eq+%22nobody%22"), headers={"Accept": accept}, timeout=30
    )

    assert assert_list_response(response)["totalResults"] == 0


def test_a_manager_id_from_another_tenant_reveals_nothing_of_that_user(scim, other_scim):
    """Manager values are references within the tenant: pointing one at another tenant's user
    must not expose that user's name, and no filter here may find that user."""
    stranger = other_scim.create_user("secret@lakeside.test", displayName="Secret Person")
    report = scim.create_user("report@testuser.com")

    response = scim.patch(
        f"/Users/{report['id']}",
        patch_body(
            {"op": "add", "path": f"{ENTERPRISE}:manager", "value": {"value": stranger["id"]}}
        ),
    )

    assert response.status_code == 200, describe(response)
    assert "Secret Person" not in response.text and "secret@lakeside.test" not in response.text
    after = scim.session.get(scim.url(f"/Users/{report['id']}"), timeout=30).text
    assert "Secret Person" not in after and "secret@lakeside.test" not in after
    assert scim.search("Users", 'userName eq "secret@lakeside.test"') == []
    assert_error(scim.get(f"/Users/{stranger['id']}"), 404)
