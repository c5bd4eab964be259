"""PATCH /Users/<id> in both of Azure's dialects (docs/azure-scim-client.md §2.2.5–§2.2.7, §2.6,
§3.1)."""

from __future__ import annotations

import uuid

import pytest

from tests.schemas import ENTERPRISE, PATCH_OP, USER
from tests.scim_client import assert_error

from .conftest import make_group, make_user

WORK_EMAIL = 'emails[type eq "work"].value'


@pytest.fixture
def user(scim):
    return make_user(
        scim.organization,
        "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee",
        externalId="6c75de36-30fa-4d2d-a196-6bdcdb6b6539",
        name={
            "formatted": "givenName familyName",
            "familyName": "familyName",
            "givenName": "givenName",
        },
        emails=[{"value": "Test_User_11bb11bb@testuser.com", "type": "work", "primary": True}],
    )


def patch(scim, user, *operations):
    response = scim.patch_ops(f"/Users/{user.scim_id}", *operations)
    assert response.status_code == 200, response.content
    return response.json()


def test_update_multi_valued_properties_example(scim, user):
    # Reference §2.2.5.
    body = patch(
        scim,
        user,
        {"op": "Replace", "path": WORK_EMAIL, "value": "updatedEmail@microsoft.com"},
        {"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"},
    )

    assert body["emails"] == [
        {"value": "updatedEmail@microsoft.com", "type": "work", "primary": True}
    ]
    assert body["name"] == {
        "formatted": "givenName updatedFamilyName",
        "familyName": "updatedFamilyName",
        "givenName": "givenName",
    }


def test_update_single_valued_property_example(scim, user):
    # Reference §2.2.6.
    body = patch(
        scim,
        user,
        {
            "op": "Replace",
            "path": "userName",
            "value": "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com",
        },
    )

    assert body["userName"] == "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com"
    assert body["externalId"] == "6c75de36-30fa-4d2d-a196-6bdcdb6b6539"


@pytest.mark.parametrize(
    "op, value",
    [
        ("Replace", False),  # docs/azure-scim-client.md §2.2.7 (mixed dialect)
        ("Replace", "False"),  # §2.6 without the flag
        ("replace", False),  # §2.6 with aadOptscim062020
        ("replace", "false"),
    ],
)
def test_disable_user_in_every_dialect(scim, user, op, value):
    body = patch(scim, user, {"op": op, "path": "active", "value": value})

    assert body["active"] is False


def test_reenable_user_with_string_true(scim, user):
    patch(scim, user, {"op": "Replace", "path": "active", "value": "False"})

    body = patch(scim, user, {"op": "Replace", "path": "active", "value": "True"})

    assert body["active"] is True


def test_deactivated_user_is_still_returned_by_get_and_filter(scim, user):
    patch(scim, user, {"op": "Replace", "path": "active", "value": "False"})

    assert scim.get(f"/Users/{user.scim_id}").json()["active"] is False
    listed = scim.get("/Users", {"filter": f'userName eq "{user.user_name}"'}).json()
    assert listed["totalResults"] == 1
    assert listed["Resources"][0]["active"] is False


def test_active_with_a_non_boolean_value_answers_400(scim, user):
    response = scim.patch_ops(
        f"/Users/{user.scim_id}", {"op": "replace", "path": "active", "value": "yes"}
    )

    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidValue"


@pytest.mark.parametrize("op", ["Add", "add"])
def test_add_single_value_string_attribute_in_both_dialects(scim, user, op):
    body = patch(scim, user, {"op": op, "path": "nickName", "value": "Babs"})

    assert body["nickName"] == "Babs"


def test_replace_multiple_attributes_without_flag(scim, user):
    # Reference §2.6, "Replace multiple attributes — without flag".
    body = patch(
        scim,
        user,
        {"op": "Replace", "path": "displayName", "value": "Pvlo"},
        {"op": "Replace", "path": WORK_EMAIL, "value": "TestBcwqnm@test.microsoft.com"},
        {"op": "Replace", "path": "name.givenName", "value": "Gtfd"},
        {"op": "Replace", "path": "name.familyName", "value": "Pkqf"},
        {"op": "Replace", "path": "externalId", "value": "Eqpj"},
        {"op": "Replace", "path": f"{ENTERPRISE}:employeeNumber", "value": "Eqpj"},
    )

    assert body["displayName"] == "Pvlo"
    assert body["emails"][0]["value"] == "TestBcwqnm@test.microsoft.com"
    assert body["name"]["givenName"] == "Gtfd" and body["name"]["familyName"] == "Pkqf"
    assert body["externalId"] == "Eqpj"
    assert body[ENTERPRISE] == {"employeeNumber": "Eqpj"}
    assert ENTERPRISE in body["schemas"]


def test_replace_multiple_attributes_with_flag_uses_dotted_and_urn_keys(scim, user):
    # Reference §2.6, "with flag": path-less replace, keys are paths, not attribute names.
    body = patch(
        scim,
        user,
        {"op": "replace", "path": WORK_EMAIL, "value": "TestMhvaes@test.microsoft.com"},
        {
            "op": "replace",
            "value": {
                "displayName": "Bjfe",
                "name.givenName": "Kkom",
                "name.familyName": "Unua",
                f"{ENTERPRISE}:employeeNumber": "Aklq",
            },
        },
    )

    assert body["emails"][0]["value"] == "TestMhvaes@test.microsoft.com"
    assert body["displayName"] == "Bjfe"
    assert body["name"]["givenName"] == "Kkom" and body["name"]["familyName"] == "Unua"
    assert body[ENTERPRISE] == {"employeeNumber": "Aklq"}
    assert "name.givenName" not in body


def test_pathless_replace_with_nested_objects_merges_sub_attributes(scim, user):
    body = patch(
        scim,
        user,
        {
            "op": "replace",
            "value": {
                "name": {"givenName": "Joy"},
                ENTERPRISE: {"department": "Cardiology"},
            },
        },
    )

    assert body["name"]["givenName"] == "Joy"
    assert body["name"]["familyName"] == "familyName"
    assert body[ENTERPRISE] == {"department": "Cardiology"}


def test_work_email_add_creates_the_email_when_absent(scim):
    user = make_user(scim.organization, "noemail@riverside.example")

    body = patch(scim, user, {"op": "add", "path": WORK_EMAIL, "value": "new@riverside.example"})

    assert body["emails"] == [{"type": "work", "value": "new@riverside.example"}]
    found = scim.get("/Users", {"filter": f'{WORK_EMAIL} eq "NEW@riverside.example"'}).json()
    assert found["totalResults"] == 1


def test_value_path_replace_updates_only_the_matching_element(scim, user):
    patch(
        scim,
        user,
        {"op": "add", "path": "emails", "value": [{"type": "home", "value": "home@example.com"}]},
    )

    body = patch(
        scim,
        user,
        {"op": "replace", "path": 'emails[type eq "home"].value', "value": "home2@example.com"},
    )

    assert {e["type"]: e["value"] for e in body["emails"]} == {
        "work": "Test_User_11bb11bb@testuser.com",
        "home": "home2@example.com",
    }


@pytest.mark.parametrize(
    "path, value",
    [
        ('addresses[type eq "work"].locality', "Bamako"),
        ('phoneNumbers[type eq "work"].value', "55555555555"),
    ],
)
def test_other_value_paths_create_their_element(scim, user, path, value):
    body = patch(scim, user, {"op": "replace", "path": path, "value": value})

    attribute, sub = path.split("[")[0], path.rsplit(".", 1)[1]
    assert body[attribute] == [{"type": "work", sub: value}]


@pytest.mark.parametrize("op", ["Add", "add", "replace"])
def test_enterprise_attribute_by_urn_path(scim, user, op):
    body = patch(scim, user, {"op": op, "path": f"{ENTERPRISE}:department", "value": "Oncology"})

    assert body[ENTERPRISE]["department"] == "Oncology"


@pytest.mark.parametrize(
    "operation",
    [
        {
            "op": "Add",
            "path": "manager",
            "value": [{"$ref": "http://x/scim/Users/00aa00aa-bb11", "value": "00aa00aa-bb11"}],
        },
        {"op": "replace", "path": f"{ENTERPRISE}:manager", "value": "00aa00aa-bb11"},
        {"op": "add", "path": f"{ENTERPRISE}:manager", "value": {"value": "00aa00aa-bb11"}},
        {"op": "replace", "value": {f"{ENTERPRISE}:manager": "00aa00aa-bb11"}},
    ],
)
def test_manager_set_in_every_shape_azure_sends(scim, user, operation):
    body = patch(scim, user, operation)

    assert body[ENTERPRISE]["manager"]["value"] == "00aa00aa-bb11"


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "remove", "path": f"{ENTERPRISE}:manager"},
        {"op": "Remove", "path": 'manager[value eq "00aa00aa-bb11"]'},
        {"op": "replace", "path": f"{ENTERPRISE}:manager", "value": ""},
        {"op": "replace", "path": f"{ENTERPRISE}:manager", "value": {"value": ""}},
    ],
)
def test_manager_removed_in_every_shape_azure_sends(scim, user, operation):
    patch(scim, user, {"op": "add", "path": f"{ENTERPRISE}:manager", "value": "00aa00aa-bb11"})

    body = patch(scim, user, operation)

    assert ENTERPRISE not in body


def test_manager_change_replaces_the_whole_reference(scim, user):
    patch(
        scim,
        user,
        {
            "op": "add",
            "path": f"{ENTERPRISE}:manager",
            "value": {"value": "old", "displayName": "Old Boss"},
        },
    )

    body = patch(scim, user, {"op": "replace", "path": f"{ENTERPRISE}:manager", "value": "new"})

    assert body[ENTERPRISE]["manager"] == {"value": "new"}


@pytest.mark.parametrize("value", ["", None])
def test_replace_with_empty_or_null_clears_the_attribute(scim, user, value):
    patch(scim, user, {"op": "add", "path": "title", "value": "Nurse"})

    body = patch(scim, user, {"op": "replace", "path": "title", "value": value})

    assert "title" not in body


def test_remove_of_emails_with_a_value_list_keeps_the_other_emails(scim, user):
    patch(
        scim,
        user,
        {
            "op": "add",
            "path": "emails",
            "value": [
                {"value": "home@testuser.com", "type": "home"},
                {"value": "other@testuser.com", "type": "other"},
            ],
        },
    )

    body = patch(
        scim, user, {"op": "remove", "path": "emails", "value": [{"value": "home@testuser.com"}]}
    )

    assert [email["value"] for email in body["emails"]] == [
        "Test_User_11bb11bb@testuser.com",
        "other@testuser.com",
    ]
    assert scim.get(f"/Users/{user.scim_id}").json()["emails"] == body["emails"]


def test_remove_of_a_sub_attribute(scim, user):
    body = patch(scim, user, {"op": "remove", "path": "name.givenName"})

    assert "givenName" not in body["name"]


def test_roles_with_json_encoded_string_values_are_kept_as_sent(scim, user):
    role = '{"id":"06b07648-ecfe-589f-9d2f-6325724a46ee","value":"25","displayName":"Role1234"}'

    body = patch(scim, user, {"op": "Add", "path": "roles", "value": [{"value": role}]})

    assert body["roles"] == [{"value": role}]


def test_patch_is_atomic_when_a_later_operation_fails(scim, user):
    response = scim.patch_ops(
        f"/Users/{user.scim_id}",
        {"op": "replace", "path": "displayName", "value": "Applied?"},
        {"op": "replace", "path": "active", "value": "sometimes"},
    )

    assert response.status_code == 400
    assert "displayName" not in scim.get(f"/Users/{user.scim_id}").json()


def test_patch_username_to_a_taken_one_answers_409_and_changes_nothing(scim, user):
    make_user(scim.organization, "taken@riverside.example")

    response = scim.patch_ops(
        f"/Users/{user.scim_id}",
        {"op": "replace", "path": "displayName", "value": "X"},
        {"op": "replace", "path": "userName", "value": "Taken@Riverside.example"},
    )

    assert response.status_code == 409
    assert response.json()["scimType"] == "uniqueness"
    user.refresh_from_db()
    assert user.display_name is None


@pytest.mark.parametrize(
    "body, scim_type",
    [
        ({"schemas": [PATCH_OP]}, "invalidSyntax"),
        ({"schemas": [PATCH_OP], "Operations": []}, "invalidSyntax"),
        ({"schemas": [PATCH_OP], "Operations": "replace"}, "invalidSyntax"),
        ({"schemas": [PATCH_OP], "Operations": [{"op": "move", "path": "title"}]}, "invalidSyntax"),
        ({"schemas": [PATCH_OP], "Operations": [{"op": "remove"}]}, "noTarget"),
        ({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": "x"}]}, "invalidValue"),
        (
            {
                "schemas": [PATCH_OP],
                "Operations": [{"op": "replace", "path": "name[[", "value": "x"}],
            },
            "invalidPath",
        ),
        (
            {
                "schemas": [PATCH_OP],
                "Operations": [
                    {"op": "replace", "path": 'emails[type co "w"].value', "value": "x"}
                ],
            },
            "invalidFilter",
        ),
        (
            {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "id", "value": "x"}]},
            "mutability",
        ),
        (
            {
                "schemas": [PATCH_OP],
                "Operations": [{"op": "replace", "path": "userName", "value": ""}],
            },
            "invalidValue",
        ),
        (
            {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": 7, "value": "x"}]},
            "invalidPath",
        ),
    ],
)
def test_malformed_patch_answers_400_with_scim_type(scim, user, body, scim_type):
    response = scim.patch(f"/Users/{user.scim_id}", body)

    assert response.status_code == 400
    assert response.json()["scimType"] == scim_type


def test_patch_of_other_organizations_user_answers_404_and_changes_nothing(scim, other_scim):
    foreign = make_user(other_scim.organization, "bob@lakeside.example")

    response = scim.patch_ops(
        f"/Users/{foreign.scim_id}", {"op": "replace", "path": "active", "value": False}
    )

    assert response.status_code == 404
    foreign.refresh_from_db()
    assert foreign.active is True


def test_multiple_operations_on_the_same_attribute_apply_in_order(scim, user):
    # Reference §2.8, SCIM Validator "Patch User – Multiple Ops on same attribute".
    body = patch(
        scim,
        user,
        {"op": "add", "path": "displayName", "value": "First"},
        {"op": "replace", "path": "displayName", "value": "Second"},
        {"op": "replace", "value": {"displayName": "Third"}},
    )

    assert body["displayName"] == "Third"


def test_update_joining_property_then_filter_finds_the_user_by_new_name(scim, user):
    # Reference §2.8, "Update Joining Property".
    patch(scim, user, {"op": "replace", "value": {"userName": "joined@riverside.example"}})

    found = scim.get("/Users", {"filter": 'userName eq "JOINED@riverside.example"'}).json()

    assert [r["id"] for r in found["Resources"]] == [str(user.scim_id)]


def test_add_without_value_answers_400_and_applies_nothing(scim, user):
    response = scim.patch_ops(
        f"/Users/{user.scim_id}",
        {"op": "add", "path": "nickName", "value": "Ally"},
        {"op": "add", "path": "displayName"},
    )

    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidValue"
    assert "nickName" not in scim.get(f"/Users/{user.scim_id}").json()


def test_extension_urn_as_path_adds_and_removes_the_whole_extension(scim, user):
    # RFC 7644 §3.10: the schema URN of an extension is itself an attribute path.
    added = patch(scim, user, {"op": "add", "path": ENTERPRISE, "value": {"department": "X"}})
    removed = patch(scim, user, {"op": "remove", "path": ENTERPRISE})

    assert added[ENTERPRISE] == {"department": "X"}
    assert ENTERPRISE in added["schemas"]
    assert ENTERPRISE not in removed and ENTERPRISE not in removed["schemas"]


def test_remove_active_leaves_it_unassigned_and_the_user_active(scim, user):
    body = patch(scim, user, {"op": "remove", "path": "active"})

    assert "active" not in body
    found = scim.get("/Users", {"filter": "active eq true"}).json()
    assert [r["id"] for r in found["Resources"]] == [str(user.scim_id)]
    assert scim.get("/Users", {"filter": "active eq false"}).json()["totalResults"] == 0


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "replace", "path": "emails", "value": [{"value": 7, "type": "work"}]},
        {"op": "replace", "path": "name.givenName", "value": ["Bob"]},
        {"op": "add", "path": "phoneNumbers", "value": [{"value": "1", "primary": "often"}]},
        {"op": "replace", "path": f"{ENTERPRISE}:department", "value": {"name": "X"}},
    ],
)
def test_wrong_attribute_types_in_patch_answer_400(scim, user, operation):
    response = scim.patch_ops(f"/Users/{user.scim_id}", operation)

    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidValue"


def test_app_role_assignments_complex_adds_json_encoded_roles(scim, user):
    # Reference §2.7, AppRoleAssignmentsComplex.
    admin = '{"id":"06b07648-ecfe-589f-9d2f-6325724a46ee","value":"Admin","displayName":"Admin"}'
    member = '{"id":"06b07648-ecfe-599f-9d2f-6325724a46ee","value":"User","displayName":"User"}'

    body = patch(
        scim, user, {"op": "Add", "path": "roles", "value": [{"value": admin}, {"value": member}]}
    )

    assert body["roles"] == [{"value": admin}, {"value": member}]


def test_assertive_app_role_assignments_replace_the_roles(scim, user):
    # Reference §2.7, AssertiveAppRoleAssignmentsComplex: lower-case replace, full objects.
    patch(scim, user, {"op": "Add", "path": "roles", "value": [{"value": "Old"}]})
    roles = [
        {
            "primary": False,
            "type": "WindowsAzureActiveDirectoryRole",
            "display": "User",
            "value": "User",
        },
        {
            "primary": False,
            "type": "WindowsAzureActiveDirectoryRole",
            "display": "Test",
            "value": "Test",
        },
    ]

    body = patch(scim, user, {"op": "replace", "path": "roles", "value": roles})

    assert body["roles"] == roles


def test_create_with_a_single_app_role_keeps_it(scim):
    # Reference §2.7, SingleAppRoleAssignment POST.
    role = {"primary": True, "type": "WindowsAzureActiveDirectoryRole", "value": "Admin"}

    response = scim.post("/Users", {"userName": "role@riverside.example", "roles": [role]})

    assert response.status_code == 201
    assert response.json()["roles"] == [role]


def test_null_update_then_empty_update_reads_back_unassigned(scim, user):
    # Reference §2.8: Microsoft's gallery "SCIM_Null_Update_Test".
    patch(
        scim,
        user,
        {"op": "add", "path": "title", "value": "Nurse"},
        {"op": "add", "path": f"{ENTERPRISE}:department", "value": "ICU"},
    )

    emptied = patch(
        scim,
        user,
        {"op": "replace", "path": "title", "value": ""},
        {"op": "replace", "path": f"{ENTERPRISE}:department", "value": ""},
    )
    nulled = patch(scim, user, {"op": "replace", "path": "title", "value": None})

    assert "title" not in emptied and ENTERPRISE not in emptied
    assert "title" not in nulled


def test_patch_on_the_tenant_of_another_org_with_its_own_user_id_is_refused(scim, other_scim):
    mine = make_user(scim.organization, "alice@riverside.example")

    response = other_scim.patch_ops(
        f"/Users/{mine.scim_id}", {"op": "replace", "path": "userName", "value": "x@y.z"}
    )

    assert response.status_code == 404
    mine.refresh_from_db()
    assert mine.user_name == "alice@riverside.example"


def test_a_patch_writing_back_the_users_own_id_and_groups_applies_the_rest(scim, user):
    group = make_group(scim.organization, "Nurses", members=[user])
    body = patch(
        scim,
        user,
        {"op": "replace", "path": "id", "value": str(user.scim_id).upper()},
        {"op": "replace", "path": "groups", "value": [{"value": str(group.scim_id)}]},
        {"op": "replace", "value": {"id": str(user.scim_id), "title": "Nurse"}},
    )
    assert body["title"] == "Nurse"


def test_a_patch_changing_the_users_groups_is_refused_as_mutability(scim, user):
    response = scim.patch_ops(
        f"/Users/{user.scim_id}",
        {"op": "replace", "path": "groups", "value": [{"value": str(uuid.uuid4())}]},
    )
    assert_error(response, 400, "mutability")


def test_a_put_carrying_another_id_is_refused_as_mutability(scim, user):
    body = {"schemas": [USER], "id": str(uuid.uuid4()), "userName": user.user_name}
    assert_error(scim.put(f"/Users/{user.scim_id}", body), 400, "mutability")
