"""/Groups: Microsoft's documented requests (docs/azure-scim-client.md §2.3) and membership
rules."""

from __future__ import annotations

import uuid

import pytest

from scim.models import GroupMembership, ScimGroup
from tests.schemas import GROUP as CORE_GROUP
from tests.schemas import PATCH_OP, SCIM_JSON
from tests.scim_client import assert_error

from .conftest import make_group, make_user


@pytest.fixture
def alice(scim):
    return make_user(scim.organization, "alice@riverside.example", displayName="Alice")


@pytest.fixture
def bob(scim):
    return make_user(scim.organization, "bob@riverside.example")


def member_ids(group):
    return set(GroupMembership.objects.filter(group=group).values_list("user__scim_id", flat=True))


def test_create_group_example_answers_201_with_empty_members(scim):
    # Reference §2.3.1, with Microsoft's non-standard schema URI, which must be tolerated.
    response = scim.post(
        "/Groups",
        {
            "schemas": [
                CORE_GROUP,
                "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group",
            ],
            "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
            "displayName": "displayName",
            "meta": {"resourceType": "Group"},
        },
    )

    assert response.status_code == 201
    body = response.json()
    assert body["schemas"] == [CORE_GROUP]
    assert body["externalId"] == "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159"
    assert body["displayName"] == "displayName"
    assert body["members"] == []
    assert body["meta"]["resourceType"] == "Group"
    assert body["meta"]["location"].endswith(f"/Groups/{body['id']}")


def test_create_group_with_explicit_empty_members_as_entra_sends(scim):
    # Reference §2.3.1, the real 2021 request.
    response = scim.post(
        "/Groups",
        {
            "schemas": [CORE_GROUP],
            "externalId": "0899060-370e-46a-bc5f-3aas207ed41d",
            "displayName": "Org Admin",
            "members": [],
            "meta": {"resourceType": "Group"},
        },
    )

    assert response.status_code == 201


def test_create_duplicate_group_name_in_other_case_answers_409_uniqueness(scim):
    make_group(scim.organization, "Nurses")

    response = scim.post("/Groups", {"displayName": "NURSES"})

    assert response.status_code == 409
    assert response.json()["scimType"] == "uniqueness"


def test_create_group_with_initial_members(scim, alice):
    response = scim.post(
        "/Groups", {"displayName": "Nurses", "members": [{"value": str(alice.scim_id)}]}
    )

    assert response.status_code == 201
    assert [m["value"] for m in response.json()["members"]] == [str(alice.scim_id)]


def test_get_group_with_excluded_members_omits_members(scim, alice):
    group = make_group(
        scim.organization, "displayName", [alice], externalId="60f1bb27-2e1e-402d-bcc4-ec999564a194"
    )

    response = scim.get(f"/Groups/{group.scim_id}", {"excludedAttributes": "members"})

    # Reference §2.3.2, corrected (trailing comma).
    assert response.status_code == 200
    body = response.json()
    assert "members" not in body
    assert body["displayName"] == "displayName"
    assert body["externalId"] == "60f1bb27-2e1e-402d-bcc4-ec999564a194"
    assert body["id"] == str(group.scim_id)


def test_get_group_lists_members_with_value_and_ref(scim, alice):
    group = make_group(scim.organization, "Nurses", [alice])

    body = scim.get(f"/Groups/{group.scim_id}").json()

    assert body["members"] == [
        {
            "value": str(alice.scim_id),
            "$ref": f"{scim.organization.scim_base_url}/Users/{alice.scim_id}",
            "type": "User",
        }
    ]


def test_get_group_by_display_name_with_excluded_members(scim, alice):
    make_group(scim.organization, "displayName", [alice])

    # Reference §2.3.3, parameters in Microsoft's order.
    response = scim.client.get(
        f"{scim.base}/Groups?excludedAttributes=members&filter=displayName+eq+%22displayName%22",
        HTTP_AUTHORIZATION=f"Bearer {scim.token}",
    )

    body = response.json()
    assert body["totalResults"] == 1
    assert body["Resources"][0]["displayName"] == "displayName"
    assert "members" not in body["Resources"][0]


def test_update_group_display_name_answers_204(scim):
    group = make_group(scim.organization, "Nurses")

    # Reference §2.3.4.
    response = scim.patch_ops(
        f"/Groups/{group.scim_id}",
        {
            "op": "Replace",
            "path": "displayName",
            "value": "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName",
        },
    )

    assert response.status_code == 204
    assert response.content == b""
    group.refresh_from_db()
    assert group.display_name == "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName"


def test_rename_group_to_a_taken_name_answers_409(scim):
    make_group(scim.organization, "Doctors")
    group = make_group(scim.organization, "Nurses")

    response = scim.patch_ops(
        f"/Groups/{group.scim_id}", {"op": "replace", "path": "displayName", "value": "doctors"}
    )

    assert response.status_code == 409


def test_add_member_example_answers_204(scim, alice):
    group = make_group(scim.organization, "Nurses")

    # Reference §2.3.5, with "$ref": null.
    response = scim.patch_ops(
        f"/Groups/{group.scim_id}",
        {"op": "Add", "path": "members", "value": [{"$ref": None, "value": str(alice.scim_id)}]},
    )

    assert response.status_code == 204
    assert member_ids(group) == {alice.scim_id}


def test_adding_an_existing_member_again_succeeds(scim, alice):
    group = make_group(scim.organization, "Nurses", [alice])

    response = scim.patch_ops(
        f"/Groups/{group.scim_id}",
        {"op": "add", "path": "members", "value": [{"value": str(alice.scim_id)}]},
    )

    assert response.status_code == 204
    assert member_ids(group) == {alice.scim_id}


def test_many_members_in_one_operation(scim):
    users = [make_user(scim.organization, f"u{n}@riverside.example") for n in range(5)]
    group = make_group(scim.organization, "Nurses")

    response = scim.patch_ops(
        f"/Groups/{group.scim_id}",
        {"op": "Add", "path": "members", "value": [{"value": str(u.scim_id)} for u in users]},
    )

    assert response.status_code == 204
    assert member_ids(group) == {u.scim_id for u in users}


def test_remove_member_by_value_list_removes_only_that_member(scim, alice, bob):
    group = make_group(scim.organization, "Nurses", [alice, bob])

    # Reference §2.3.6 / §2.6 without flag.
    response = scim.patch_ops(
        f"/Groups/{group.scim_id}",
        {"op": "Remove", "path": "members", "value": [{"$ref": None, "value": str(alice.scim_id)}]},
    )

    assert response.status_code == 204
    assert member_ids(group) == {bob.scim_id}


def test_remove_by_value_list_of_non_members_never_empties_the_group(scim, alice, bob):
    group = make_group(scim.organization, "Nurses", [alice])

    response = scim.patch_ops(
        f"/Groups/{group.scim_id}",
        {"op": "Remove", "path": "members", "value": [{"value": str(bob.scim_id)}]},
    )

    assert response.status_code == 204
    assert member_ids(group) == {alice.scim_id}


def test_remove_with_empty_value_list_never_empties_the_group(scim, alice):
    group = make_group(scim.organization, "Nurses", [alice])

    response = scim.patch_ops(
        f"/Groups/{group.scim_id}", {"op": "Remove", "path": "members", "value": []}
    )

    assert response.status_code == 204
    assert member_ids(group) == {alice.scim_id}


def test_remove_member_by_value_filter_path(scim, alice, bob):
    group = make_group(scim.organization, "Nurses", [alice, bob])

    # Reference §2.6, "Remove a group member — with flag".
    response = scim.patch_ops(
        f"/Groups/{group.scim_id}", {"op": "remove", "path": f'members[value eq "{alice.scim_id}"]'}
    )

    assert response.status_code == 204
    assert member_ids(group) == {bob.scim_id}


def test_remove_members_without_value_or_filter_removes_all_per_rfc(scim, alice, bob):
    group = make_group(scim.organization, "Nurses", [alice, bob])

    response = scim.patch_ops(f"/Groups/{group.scim_id}", {"op": "remove", "path": "members"})

    assert response.status_code == 204
    assert member_ids(group) == set()


def test_group_patch_with_attributes_parameter_answers_200_with_the_group(scim, alice):
    group = make_group(scim.organization, "Nurses")

    response = scim.client.patch(
        f"{scim.base}/Groups/{group.scim_id}?excludedAttributes=members",
        '{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": '
        '[{"op": "replace", "path": "externalId", "value": "ext-9"}]}',
        content_type=SCIM_JSON,
        HTTP_AUTHORIZATION=f"Bearer {scim.token}",
    )

    assert response.status_code == 200
    assert response.json()["externalId"] == "ext-9"
    assert "members" not in response.json()


def test_pathless_replace_of_group_attributes(scim):
    group = make_group(scim.organization, "Nurses")

    response = scim.patch_ops(
        f"/Groups/{group.scim_id}",
        {"op": "replace", "value": {"displayName": "Night Nurses", "externalId": "e-1"}},
    )

    assert response.status_code == 204
    group.refresh_from_db()
    assert (group.display_name, group.external_id) == ("Night Nurses", "e-1")


def test_adding_an_unknown_user_answers_400_and_adds_nobody(scim, alice):
    group = make_group(scim.organization, "Nurses")

    response = scim.patch_ops(
        f"/Groups/{group.scim_id}",
        {
            "op": "add",
            "path": "members",
            "value": [{"value": str(alice.scim_id)}, {"value": "f648f8d5ea4e4cd38e9c"}],
        },
    )

    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidValue"
    assert member_ids(group) == set()


def test_group_patch_is_atomic_across_operations(scim, alice):
    group = make_group(scim.organization, "Nurses")

    response = scim.patch_ops(
        f"/Groups/{group.scim_id}",
        {"op": "replace", "path": "displayName", "value": "Renamed"},
        {"op": "add", "path": "members", "value": [{"value": str(alice.scim_id)}]},
        {"op": "add", "path": "members", "value": [{"value": "not-a-user"}]},
    )

    assert response.status_code == 400
    group.refresh_from_db()
    assert group.display_name == "Nurses"
    assert member_ids(group) == set()


@pytest.mark.parametrize("value", ["abc", [{"display": "x"}], [{"value": 5}], [None]])
def test_malformed_member_values_answer_400(scim, value):
    group = make_group(scim.organization, "Nurses")

    response = scim.patch_ops(
        f"/Groups/{group.scim_id}", {"op": "add", "path": "members", "value": value}
    )

    assert response.status_code == 400


def test_put_replaces_name_and_members(scim, alice, bob):
    group = make_group(scim.organization, "Nurses", [alice])

    response = scim.put(
        f"/Groups/{group.scim_id}",
        {
            "schemas": [CORE_GROUP],
            "displayName": "Day Nurses",
            "members": [{"value": str(bob.scim_id)}],
        },
    )

    assert response.status_code == 200
    assert response.json()["displayName"] == "Day Nurses"
    assert member_ids(group) == {bob.scim_id}


def test_delete_group_answers_204_then_404_and_keeps_the_users(scim, alice):
    group = make_group(scim.organization, "Nurses", [alice])

    # Reference §2.3.7.
    assert scim.delete(f"/Groups/{group.scim_id}").status_code == 204
    assert scim.get(f"/Groups/{group.scim_id}").status_code == 404
    assert scim.get(f"/Users/{alice.scim_id}").status_code == 200


def test_deleting_a_user_removes_it_from_its_groups(scim, alice, bob):
    group = make_group(scim.organization, "Nurses", [alice, bob])

    scim.delete(f"/Users/{alice.scim_id}")

    assert member_ids(group) == {bob.scim_id}


def test_user_lists_its_groups(scim, alice):
    group = make_group(scim.organization, "Nurses", [alice])

    body = scim.get(f"/Users/{alice.scim_id}").json()

    assert body["groups"] == [
        {
            "value": str(group.scim_id),
            "$ref": f"{scim.organization.scim_base_url}/Groups/{group.scim_id}",
            "display": "Nurses",
            "type": "direct",
        }
    ]


def test_adding_another_organizations_user_is_refused_and_adds_nobody(scim, other_scim):
    group = make_group(scim.organization, "Nurses")
    foreign = make_user(other_scim.organization, "bob@lakeside.example")

    response = scim.patch_ops(
        f"/Groups/{group.scim_id}",
        {"op": "Add", "path": "members", "value": [{"value": str(foreign.scim_id)}]},
    )

    assert response.status_code == 400
    assert not GroupMembership.objects.exists()


def test_removing_another_organizations_user_changes_nothing_there(scim, other_scim):
    foreign = make_user(other_scim.organization, "bob@lakeside.example")
    foreign_group = make_group(other_scim.organization, "Lakeside", [foreign])
    group = make_group(scim.organization, "Nurses")

    scim.patch_ops(
        f"/Groups/{group.scim_id}",
        {"op": "Remove", "path": "members", "value": [{"value": str(foreign.scim_id)}]},
    )

    assert member_ids(foreign_group) == {foreign.scim_id}


def test_other_organizations_group_cannot_be_read_patched_or_deleted(scim, other_scim):
    foreign = make_group(other_scim.organization, "Lakeside")
    path = f"/Groups/{foreign.scim_id}"

    assert scim.get(path).status_code == 404
    assert (
        scim.patch_ops(path, {"op": "replace", "path": "displayName", "value": "Mine"}).status_code
        == 404
    )
    assert scim.put(path, {"displayName": "Mine"}).status_code == 404
    assert scim.delete(path).status_code == 404
    foreign.refresh_from_db()
    assert foreign.display_name == "Lakeside"
    assert ScimGroup.objects.filter(pk=foreign.pk).exists()


@pytest.mark.parametrize(
    "body",
    [
        {"displayName": 5},
        {"displayName": ""},
        {"externalId": "no name"},
        {"displayName": "G", "members": "everyone"},
    ],
)
def test_invalid_group_bodies_answer_400_invalid_value(scim, body):
    response = scim.post("/Groups", body)

    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidValue"
    assert not ScimGroup.objects.exists()


def test_group_patch_operations_in_several_ops_with_many_members(scim):
    users = [make_user(scim.organization, f"u{n}@riverside.example") for n in range(6)]
    group = make_group(scim.organization, "Nurses")

    response = scim.patch_ops(
        f"/Groups/{group.scim_id}",
        {"op": "Add", "path": "members", "value": [{"value": str(u.scim_id)} for u in users[:3]]},
        {"op": "Add", "path": "members", "value": [{"value": str(u.scim_id)} for u in users[3:]]},
        {"op": "Remove", "path": f'members[value eq "{users[0].scim_id}"]'},
    )

    assert response.status_code == 204
    assert member_ids(group) == {u.scim_id for u in users[1:]}


def test_member_and_name_changes_bump_version_and_last_modified(scim, alice):
    group = make_group(scim.organization, "Nurses")
    first = scim.get(f"/Groups/{group.scim_id}").json()["meta"]

    scim.patch_ops(
        f"/Groups/{group.scim_id}",
        {"op": "add", "path": "members", "value": [{"value": str(alice.scim_id)}]},
    )
    second = scim.get(f"/Groups/{group.scim_id}").json()["meta"]
    scim.patch_ops(
        f"/Groups/{group.scim_id}",
        {"op": "replace", "path": "displayName", "value": "Night Nurses"},
    )
    third = scim.get(f"/Groups/{group.scim_id}").json()["meta"]

    assert len({first["version"], second["version"], third["version"]}) == 3
    assert first["lastModified"] < second["lastModified"] < third["lastModified"]


def test_patch_that_changes_nothing_keeps_the_version(scim, alice):
    group = make_group(scim.organization, "Nurses", [alice])
    before = scim.get(f"/Groups/{group.scim_id}").json()["meta"]["version"]

    scim.patch_ops(
        f"/Groups/{group.scim_id}",
        {"op": "add", "path": "members", "value": [{"value": str(alice.scim_id)}]},
    )

    assert scim.get(f"/Groups/{group.scim_id}").json()["meta"]["version"] == before


# -- read-only attributes written back unchanged (Okta's Group Push) -------------------------


def test_a_rename_carrying_the_groups_own_id_renames_it(scim):
    # Okta's rename, re-sent with every membership change (okta-developer-docs scim-20 index.md).
    group = make_group(scim.organization, "Test SCIMv2")
    body = {
        "schemas": [PATCH_OP],
        "Operations": [
            {"op": "replace", "value": {"id": str(group.scim_id), "displayName": "Renamed"}}
        ],
    }
    assert scim.patch(f"/Groups/{group.scim_id}", body).status_code == 204
    group.refresh_from_db()
    assert group.display_name == "Renamed"


def test_a_rename_carrying_another_id_is_refused_as_mutability(scim):
    group = make_group(scim.organization, "Test SCIMv2")
    body = {
        "schemas": [PATCH_OP],
        "Operations": [
            {"op": "replace", "value": {"id": str(uuid.uuid4()), "displayName": "Renamed"}}
        ],
    }
    assert_error(scim.patch(f"/Groups/{group.scim_id}", body), 400, "mutability")


def test_a_put_carrying_the_groups_own_id_replaces_it(scim):
    group = make_group(scim.organization, "Test SCIMv2")
    body = {"schemas": [CORE_GROUP], "id": str(group.scim_id), "displayName": "Put name"}
    assert scim.put(f"/Groups/{group.scim_id}", body).status_code == 200
    group.refresh_from_db()
    assert group.display_name == "Put name"


def test_a_put_carrying_another_id_is_refused_as_mutability(scim):
    group = make_group(scim.organization, "Test SCIMv2")
    body = {"schemas": [CORE_GROUP], "id": str(uuid.uuid4()), "displayName": "Put name"}
    assert_error(scim.put(f"/Groups/{group.scim_id}", body), 400, "mutability")
