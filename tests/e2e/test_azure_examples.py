"""Every request/response example Microsoft documents for its SCIM client, over real HTTP.

Section numbers refer to ``docs/azure-scim-client.md`` §2. Request bodies are
Microsoft's, corrected only where the published JSON is not valid JSON (trailing commas, line
breaks inside strings). Responses are checked for what Azure AD relies on: status, content type
and the fields it reads back, never Microsoft's example ids or timestamps.
"""

from __future__ import annotations

import uuid
from urllib.parse import quote

import pytest

from tests.schemas import ENTERPRISE, GROUP, USER
from tests.scim_client import (
    assert_error,
    assert_list_response,
    assert_no_nulls,
    assert_scim_json,
    describe,
)

from .azure import (
    CREATE_GROUP,
    CREATE_USER,
    assert_meta,
    assert_no_content,
    assert_user_patched,
    create_ms_group,
    create_ms_user,
    patch_body,
    work_emails,
)

pytestmark = pytest.mark.django_db(transaction=True)


# §2.1 Test Connection ----------------------------------------------------------------------


@pytest.mark.parametrize("resource, attribute", [("Users", "userName"), ("Groups", "displayName")])
def test_test_connection_query_for_random_guid_gets_empty_list(scim, resource, attribute):
    """Entra's probe: ``+`` for spaces, ``%22`` for quotes, no Accept or Content-Type header."""
    scim.create_user("someone@riverside.test")
    scim.create_group("Someone's group")
    url = f"{scim.base}/{resource}?filter={attribute}+eq+%22{uuid.uuid4()}%22"

    response = scim.session.get(url, headers={"Accept": None}, timeout=30)

    assert "Accept" not in response.request.headers
    assert "Content-Type" not in response.request.headers
    body = assert_list_response(response)
    assert body["totalResults"] == 0
    assert body.get("Resources", []) == []


def test_test_connection_group_probe_with_excluded_members(scim):
    url = (
        f"{scim.base}/Groups?excludedAttributes=members&filter=displayName+eq+%22{uuid.uuid4()}%22"
    )

    response = scim.session.get(url, headers={"Accept": None}, timeout=30)

    assert assert_list_response(response)["totalResults"] == 0


def test_test_connection_with_wrong_token_is_refused_with_scim_401(scim):
    """A bad secret must fail Test Connection with 401, not an empty 200."""
    url = f"{scim.base}/Users?filter=userName+eq+%22{uuid.uuid4()}%22"

    response = scim.session.get(
        url, headers={"Authorization": "Bearer k2p_notarealkey1.notarealsecret"}, timeout=30
    )

    assert_error(response, 401)
    assert response.headers["WWW-Authenticate"].lower().startswith("bearer")


def test_test_connection_does_not_see_another_tenants_user(scim, other_scim):
    other_scim.create_user("shared-name@clinic.test")
    url = f"{scim.base}/Users?filter=userName+eq+%22shared-name%40clinic.test%22"

    response = scim.session.get(url, headers={"Accept": None}, timeout=30)

    assert assert_list_response(response)["totalResults"] == 0
    assert len(other_scim.search("Users", 'userName eq "shared-name@clinic.test"')) == 1


# §2.2 Users ---------------------------------------------------------------------------------


def test_create_user_returns_201_with_the_user_as_sent(scim, organization):
    response = scim.post("/Users", CREATE_USER)

    assert response.status_code == 201, describe(response)
    assert_scim_json(response)
    user = response.json()
    assert USER in user["schemas"]
    assert isinstance(user["id"], str)
    # Opaque and not guessable: not a row number, not the externalId Azure sent.
    assert not user["id"].isdigit() and len(user["id"]) >= 16
    assert user["id"] != CREATE_USER["externalId"]
    assert user["externalId"] == CREATE_USER["externalId"]
    assert user["userName"] == CREATE_USER["userName"]
    assert user["active"] is True
    assert user["name"] == CREATE_USER["name"]
    assert user["emails"] == CREATE_USER["emails"]
    assert_meta(user, "User", organization.scim_base_url, "Users")
    # RFC 7644 §3.3: the Location header carries the new resource's URI.
    assert response.headers["Location"] == user["meta"]["location"]
    assert_no_nulls(user)


def test_get_user_by_id(scim, organization):
    created = create_ms_user(scim)

    user = scim.read(f"/Users/{created['id']}")

    assert user["id"] == created["id"]
    assert USER in user["schemas"]
    assert user["externalId"] == CREATE_USER["externalId"]
    assert user["userName"] == CREATE_USER["userName"]
    assert user["name"] == CREATE_USER["name"]
    assert user["active"] is True
    assert user["emails"] == CREATE_USER["emails"]
    assert_meta(user, "User", organization.scim_base_url, "Users")


@pytest.mark.parametrize(
    "missing_id",
    [
        "5171a35d82074e068ce2",  # Microsoft's example id: not one of ours
        str(uuid.uuid4()),
        "23B51B0E5D7AE9110A49411D@7cca31655d49f3640a494224",
    ],
)
def test_get_unknown_user_is_404(scim, missing_id):
    create_ms_user(scim)

    assert_error(scim.get(f"/Users/{quote(missing_id)}"), 404)


def test_get_user_by_username_query(scim):
    created = create_ms_user(scim)
    scim.create_user("someone.else@testuser.com")
    filter_ = quote('userName eq "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee"')

    body = assert_list_response(scim.get(f"/Users?filter={filter_}"))

    assert body["totalResults"] == 1
    assert body["startIndex"] == 1
    assert isinstance(body["itemsPerPage"], int)
    [user] = body["Resources"]
    assert user["id"] == created["id"]
    assert user["userName"] == CREATE_USER["userName"]
    assert user["externalId"] == CREATE_USER["externalId"]
    assert user["emails"] == CREATE_USER["emails"]


def test_get_user_by_query_with_zero_results(scim):
    create_ms_user(scim)
    filter_ = quote('userName eq "non-existent user"')

    body = assert_list_response(scim.get(f"/Users?filter={filter_}"))

    assert body["totalResults"] == 0
    assert body.get("Resources", []) == []


def test_update_user_multi_valued_properties(scim):
    user = create_ms_user(scim)

    response = scim.patch(
        f"/Users/{user['id']}",
        patch_body(
            {
                "op": "Replace",
                "path": 'emails[type eq "work"].value',
                "value": "updatedEmail@microsoft.com",
            },
            {"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"},
        ),
    )

    assert_user_patched(response, user["id"])
    after = scim.read(f"/Users/{user['id']}")
    assert work_emails(after) == ["updatedEmail@microsoft.com"]
    assert after["name"]["familyName"] == "updatedFamilyName"
    assert after["name"]["givenName"] == "givenName"
    assert after["userName"] == CREATE_USER["userName"]
    assert after["meta"]["lastModified"] >= user["meta"]["lastModified"]


def test_update_user_single_valued_property(scim):
    user = create_ms_user(scim)
    new_name = "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com"

    response = scim.patch(
        f"/Users/{user['id']}",
        patch_body(
            {"op": "Replace", "path": "userName", "value": new_name},
        ),
    )

    assert_user_patched(response, user["id"])
    assert scim.read(f"/Users/{user['id']}")["userName"] == new_name
    assert [u["id"] for u in scim.search("Users", f'userName eq "{new_name}"')] == [user["id"]]
    assert scim.search("Users", f'userName eq "{CREATE_USER["userName"]}"') == []


@pytest.mark.parametrize(
    "op, value",
    [
        ("Replace", False),  # §2.2.7 as published: capitalised op with a JSON boolean
        ("Replace", "False"),  # §2.6 without the flag: a capitalised string
        ("replace", False),  # §2.6 with aadOptscim062020
    ],
)
def test_disable_user_keeps_it_readable_as_inactive(scim, op, value):
    user = create_ms_user(scim)

    response = scim.patch(
        f"/Users/{user['id']}",
        patch_body(
            {"op": op, "path": "active", "value": value},
        ),
    )

    assert_user_patched(response, user["id"])
    if response.status_code == 200:
        assert response.json()["active"] is False
    assert scim.read(f"/Users/{user['id']}")["active"] is False
    # R7: an inactive user is still returned by queries.
    [found] = scim.search("Users", f'userName eq "{CREATE_USER["userName"]}"')
    assert found["active"] is False


@pytest.mark.parametrize("op, value", [("Replace", "True"), ("replace", True)])
def test_enable_user_again(scim, op, value):
    user = create_ms_user(scim)
    scim.patch(
        f"/Users/{user['id']}", patch_body({"op": "Replace", "path": "active", "value": "False"})
    )

    response = scim.patch(
        f"/Users/{user['id']}",
        patch_body(
            {"op": op, "path": "active", "value": value},
        ),
    )

    assert_user_patched(response, user["id"])
    assert scim.read(f"/Users/{user['id']}")["active"] is True


def test_delete_user(scim):
    user = create_ms_user(scim)

    assert_no_content(scim.delete(f"/Users/{user['id']}"))

    assert_error(scim.get(f"/Users/{user['id']}"), 404)
    assert scim.search("Users", f'userName eq "{CREATE_USER["userName"]}"') == []


# §2.3 Groups --------------------------------------------------------------------------------


def test_create_group_with_microsofts_extra_schema(scim, organization):
    response = scim.post("/Groups", CREATE_GROUP)

    assert response.status_code == 201, describe(response)
    assert_scim_json(response)
    group = response.json()
    assert GROUP in group["schemas"]
    assert isinstance(group["id"], str) and not group["id"].isdigit()
    assert group["externalId"] == CREATE_GROUP["externalId"]
    assert group["displayName"] == "displayName"
    assert group.get("members", []) == []
    assert_meta(group, "Group", organization.scim_base_url, "Groups")
    assert response.headers["Location"] == group["meta"]["location"]


def test_create_group_as_entra_sent_it_in_2021(scim):
    """An explicit empty ``members`` array; members follow by PATCH."""
    response = scim.post(
        "/Groups",
        {
            "schemas": [GROUP],
            "externalId": "0899060-370e-46a-bc5f-3aas207ed41d",
            "displayName": "Org Admin",
            "members": [],
            "meta": {"resourceType": "Group"},
        },
    )

    assert response.status_code == 201, describe(response)
    assert response.json()["displayName"] == "Org Admin"
    assert response.json().get("members", []) == []


def test_get_group_excluding_members(scim):
    group = create_ms_group(scim)
    user = scim.create_user("member@testuser.com")
    scim.patch(
        f"/Groups/{group['id']}",
        patch_body({"op": "Add", "path": "members", "value": [{"value": user["id"]}]}),
    )

    body = scim.read(f"/Groups/{group['id']}?excludedAttributes=members")

    assert body["id"] == group["id"]
    assert body["displayName"] == "displayName"
    assert body["externalId"] == CREATE_GROUP["externalId"]
    assert body["meta"]["resourceType"] == "Group"
    assert "members" not in body
    assert scim.member_ids(group["id"]) == {user["id"]}


def test_get_group_by_display_name_excluding_members(scim):
    group = create_ms_group(scim)
    scim.create_group("another group")
    user = scim.create_user("member@testuser.com")
    scim.patch(
        f"/Groups/{group['id']}",
        patch_body({"op": "Add", "path": "members", "value": [{"value": user["id"]}]}),
    )
    query = "excludedAttributes=members&filter=" + quote('displayName eq "displayName"')

    body = assert_list_response(scim.get(f"/Groups?{query}"))

    assert body["totalResults"] == 1
    [found] = body["Resources"]
    assert found["id"] == group["id"]
    assert found["displayName"] == "displayName"
    assert "members" not in found


def test_update_group_display_name_answers_204(scim):
    group = create_ms_group(scim)
    new_name = "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName"

    assert_no_content(
        scim.patch(
            f"/Groups/{group['id']}",
            patch_body(
                {"op": "Replace", "path": "displayName", "value": new_name},
            ),
        )
    )

    assert scim.read(f"/Groups/{group['id']}")["displayName"] == new_name
    assert [g["id"] for g in scim.search("Groups", f'displayName eq "{new_name}"')] == [group["id"]]


def test_add_member_with_null_ref_answers_204(scim):
    group = create_ms_group(scim)
    user = scim.create_user("member@testuser.com")

    assert_no_content(
        scim.patch(
            f"/Groups/{group['id']}",
            patch_body(
                {"op": "Add", "path": "members", "value": [{"$ref": None, "value": user["id"]}]},
            ),
        )
    )

    assert scim.member_ids(group["id"]) == {user["id"]}


def test_remove_member_by_value_list_removes_only_that_member(scim):
    group = create_ms_group(scim)
    leaving = scim.create_user("leaving@testuser.com")
    staying = scim.create_user("staying@testuser.com")
    scim.patch(
        f"/Groups/{group['id']}",
        patch_body(
            {
                "op": "Add",
                "path": "members",
                "value": [{"value": leaving["id"]}, {"value": staying["id"]}],
            }
        ),
    )

    assert_no_content(
        scim.patch(
            f"/Groups/{group['id']}",
            patch_body(
                {
                    "op": "Remove",
                    "path": "members",
                    "value": [{"$ref": None, "value": leaving["id"]}],
                },
            ),
        )
    )

    assert scim.member_ids(group["id"]) == {staying["id"]}
    assert scim.read(f"/Users/{leaving['id']}")["userName"] == "leaving@testuser.com"


def test_delete_group_keeps_its_members(scim):
    group = create_ms_group(scim)
    user = scim.create_user("member@testuser.com")
    scim.patch(
        f"/Groups/{group['id']}",
        patch_body({"op": "Add", "path": "members", "value": [{"value": user["id"]}]}),
    )

    assert_no_content(scim.delete(f"/Groups/{group['id']}"))

    assert_error(scim.get(f"/Groups/{group['id']}"), 404)
    assert scim.search("Groups", 'displayName eq "displayName"') == []
    assert scim.read(f"/Users/{user['id']}")["id"] == user["id"]


# §2.4 Schema discovery ----------------------------------------------------------------------


def schema_attribute(schema: dict, name: str) -> dict:
    [attribute] = [a for a in schema["attributes"] if a["name"] == name]
    return attribute


def test_schemas_lists_user_group_and_enterprise_user(scim, organization):
    body = assert_list_response(scim.get("/Schemas"))

    schemas = {schema["id"]: schema for schema in body["Resources"]}
    assert {USER, GROUP, ENTERPRISE} <= set(schemas)
    assert body["totalResults"] == len(body["Resources"])
    user_name = schema_attribute(schemas[USER], "userName")
    assert user_name["type"] == "string"
    assert user_name["required"] is True
    assert user_name["caseExact"] is False
    assert user_name["uniqueness"] == "server"
    assert user_name["mutability"] == "readWrite"
    display_name = schema_attribute(schemas[GROUP], "displayName")
    assert display_name["caseExact"] is False
    assert schema_attribute(schemas[ENTERPRISE], "employeeNumber")["type"] == "string"
    for schema in schemas.values():
        assert schema["meta"]["resourceType"] == "Schema"
        assert schema["meta"]["location"].endswith(f"/Schemas/{schema['id']}")
        assert schema["meta"]["location"].startswith(organization.scim_base_url)
    # Microsoft: "don't send null values" in /Schemas.
    assert_no_nulls(body)


def test_resource_types_and_service_provider_config(scim):
    body = assert_list_response(scim.get("/ResourceTypes"))
    types = {resource["name"]: resource for resource in body["Resources"]}
    assert body["totalResults"] == len(body["Resources"])
    assert types["User"]["endpoint"] == "/Users"
    assert types["User"]["schema"] == USER
    assert {"schema": ENTERPRISE, "required": False} in types["User"]["schemaExtensions"]
    assert types["Group"]["endpoint"] == "/Groups"
    assert types["Group"]["schema"] == GROUP

    config = scim.read("/ServiceProviderConfig")
    assert config["patch"]["supported"] is True
    assert config["filter"]["supported"] is True
    assert config["bulk"]["supported"] is False
    assert any(scheme["type"] == "oauthbearertoken" for scheme in config["authenticationSchemes"])


# §2.5 Legacy reference-code walkthrough -----------------------------------------------------

LEGACY_CREATE_USER = {
    # As published, including the enterprise URN typo and the explicit nulls.
    "schemas": [USER, "urn:ietf:params:scim:schemas:extension:enterprise:2.0User"],
    "externalId": "jyoung",
    "userName": "jyoung@testuser.com",
    "active": True,
    "addresses": None,
    "displayName": "Joy Young",
    "emails": [{"type": "work", "value": "jyoung@Contoso.com", "primary": True}],
    "meta": {"resourceType": "User"},
    "name": {"familyName": "Young", "givenName": "Joy"},
    "phoneNumbers": None,
    "preferredLanguage": None,
    "title": None,
    "department": None,
    "manager": None,
}


def test_legacy_create_user_with_nulls_and_misspelt_schema(scim):
    response = scim.post("/Users", LEGACY_CREATE_USER)

    assert response.status_code == 201, describe(response)
    user = scim.read(f"/Users/{response.json()['id']}")
    assert user["userName"] == "jyoung@testuser.com"
    assert user["externalId"] == "jyoung"
    assert user["displayName"] == "Joy Young"
    assert work_emails(user) == ["jyoung@Contoso.com"]  # stored as sent (G2)
    assert user["name"]["familyName"] == "Young"
    assert_no_nulls(user)
    assert "title" not in user and "addresses" not in user and "phoneNumbers" not in user


def test_legacy_query_by_external_id(scim):
    """Example 1 as Entra sends it today (quoted), and as published: unquoted, which is not
    RFC 7644 §3.4.2.2 syntax but is accepted for a bare word, as the walkthrough shows it."""
    created = scim.post("/Users", LEGACY_CREATE_USER).json()

    assert [u["id"] for u in scim.search("Users", 'externalId eq "jyoung"')] == [created["id"]]
    unquoted = assert_list_response(scim.get(f"/Users?filter={quote('externalId eq jyoung')}"))
    assert [u["id"] for u in unquoted["Resources"]] == [created["id"]]


def test_legacy_manager_patch_and_manager_check_query(scim):
    """Example 5 (``Add`` of ``manager`` as a one-element list with ``$ref``), then Example 4's
    ``id eq … and manager eq …`` check Entra makes before updating a manager."""
    manager = scim.create_user("manager@testuser.com")
    report = scim.post("/Users", LEGACY_CREATE_USER).json()

    response = scim.patch(
        f"/Users/{report['id']}",
        patch_body(
            {
                "op": "Add",
                "path": "manager",
                "value": [{"$ref": f"{scim.base}/Users/{manager['id']}", "value": manager["id"]}],
            }
        ),
    )

    assert_user_patched(response, report["id"])
    assert scim.read(f"/Users/{report['id']}")[ENTERPRISE]["manager"]["value"] == manager["id"]
    check = assert_list_response(
        scim.get(
            "/Users?attributes=id&filter="
            + quote(f'id eq "{report["id"]}" and manager eq "{manager["id"]}"')
        )
    )
    assert [set(u) - {"schemas", "meta"} for u in check["Resources"]] == [{"id"}]
    assert check["Resources"][0]["id"] == report["id"]
    other = scim.create_user("other.manager@testuser.com")
    stale = assert_list_response(
        scim.get(
            "/Users?attributes=id&filter="
            + quote(f'id eq "{report["id"]}" and manager eq "{other["id"]}"')
        )
    )
    assert stale["totalResults"] == 0


# §2.6 Both PATCH dialects (aadOptscim062020) ------------------------------------------------


@pytest.mark.parametrize("op", ["Add", "add"])
def test_add_single_value_string_attribute(scim, op):
    user = create_ms_user(scim)

    response = scim.patch(
        f"/Users/{user['id']}", patch_body({"op": op, "path": "nickName", "value": "Babs"})
    )

    assert_user_patched(response, user["id"])
    assert scim.read(f"/Users/{user['id']}")["nickName"] == "Babs"


def test_replace_multiple_attributes_without_flag(scim):
    user = create_ms_user(scim)

    response = scim.patch(
        f"/Users/{user['id']}",
        patch_body(
            {"op": "Replace", "path": "displayName", "value": "Pvlo"},
            {
                "op": "Replace",
                "path": 'emails[type eq "work"].value',
                "value": "TestBcwqnm@test.microsoft.com",
            },
            {"op": "Replace", "path": "name.givenName", "value": "Gtfd"},
            {"op": "Replace", "path": "name.familyName", "value": "Pkqf"},
            {"op": "Replace", "path": "externalId", "value": "Eqpj"},
            {"op": "Replace", "path": f"{ENTERPRISE}:employeeNumber", "value": "Eqpj"},
        ),
    )

    assert_user_patched(response, user["id"])
    after = scim.read(f"/Users/{user['id']}")
    assert after["displayName"] == "Pvlo"
    assert work_emails(after) == ["TestBcwqnm@test.microsoft.com"]
    assert after["name"]["givenName"] == "Gtfd"
    assert after["name"]["familyName"] == "Pkqf"
    assert after["externalId"] == "Eqpj"
    assert after[ENTERPRISE]["employeeNumber"] == "Eqpj"
    assert ENTERPRISE in after["schemas"]


def test_replace_multiple_attributes_with_flag_dotted_and_urn_keys(scim):
    user = create_ms_user(scim)

    response = scim.patch(
        f"/Users/{user['id']}",
        patch_body(
            {
                "op": "replace",
                "path": 'emails[type eq "work"].value',
                "value": "TestMhvaes@test.microsoft.com",
            },
            {
                "op": "replace",
                "value": {
                    "displayName": "Bjfe",
                    "name.givenName": "Kkom",
                    "name.familyName": "Unua",
                    f"{ENTERPRISE}:employeeNumber": "Aklq",
                },
            },
        ),
    )

    assert_user_patched(response, user["id"])
    after = scim.read(f"/Users/{user['id']}")
    assert after["displayName"] == "Bjfe"
    assert work_emails(after) == ["TestMhvaes@test.microsoft.com"]
    assert after["name"]["givenName"] == "Kkom"
    assert after["name"]["familyName"] == "Unua"
    assert after[ENTERPRISE]["employeeNumber"] == "Aklq"
    # Dotted keys are paths, not literal attribute names.
    assert "name.givenName" not in after and f"{ENTERPRISE}:employeeNumber" not in after


def test_remove_member_without_flag_by_value_list(scim):
    group = create_ms_group(scim)
    users = [scim.create_user(f"u{n}@testuser.com") for n in range(3)]
    scim.patch(
        f"/Groups/{group['id']}",
        patch_body({"op": "Add", "path": "members", "value": [{"value": u["id"]} for u in users]}),
    )

    assert_no_content(
        scim.patch(
            f"/Groups/{group['id']}",
            patch_body({"op": "Remove", "path": "members", "value": [{"value": users[1]["id"]}]}),
        )
    )

    assert scim.member_ids(group["id"]) == {users[0]["id"], users[2]["id"]}


def test_remove_member_with_flag_by_value_filter(scim):
    group = create_ms_group(scim)
    users = [scim.create_user(f"u{n}@testuser.com") for n in range(3)]
    scim.patch(
        f"/Groups/{group['id']}",
        patch_body({"op": "Add", "path": "members", "value": [{"value": u["id"]} for u in users]}),
    )

    assert_no_content(
        scim.patch(
            f"/Groups/{group['id']}",
            patch_body({"op": "remove", "path": f'members[value eq "{users[1]["id"]}"]'}),
        )
    )

    assert scim.member_ids(group["id"]) == {users[0]["id"], users[2]["id"]}


def test_flag_query_string_on_the_tenant_url_is_tolerated(scim):
    """Customers append ``?aadOptscim062020`` to the tenant URL; Entra may forward it."""
    created = scim.post("/Users?aadOptscim062020", CREATE_USER)
    assert created.status_code == 201, describe(created)
    user_id = created.json()["id"]

    found = scim.get(
        "/Users?aadOptscim062020&filter=" + quote(f'userName eq "{CREATE_USER["userName"]}"')
    )
    assert [u["id"] for u in assert_list_response(found)["Resources"]] == [user_id]
    assert scim.read(f"/Users/{user_id}?aadOptscim062020")["id"] == user_id
    assert_user_patched(
        scim.patch(
            f"/Users/{user_id}?aadOptscim062020",
            patch_body({"op": "replace", "path": "active", "value": False}),
        ),
        user_id,
    )
    assert assert_list_response(scim.get("/Groups?aadOptscim062020"))["totalResults"] == 0
    assert_no_content(scim.delete(f"/Users/{user_id}?aadOptscim062020"))


# §2.7 Role assignments (Kno2fy maps none) ---------------------------------------------------


def test_role_patch_is_accepted_or_refused_cleanly(scim):
    """Kno2fy has no roles mapping: a roles PATCH may be stored or refused with a 400, but
    never a 5xx, and a refusal changes nothing."""
    user = create_ms_user(scim)
    before = scim.read(f"/Users/{user['id']}")

    response = scim.patch(
        f"/Users/{user['id']}",
        patch_body(
            {
                "op": "Add",
                "path": "roles",
                "value": [
                    {
                        "value": '{"id":"06b07648-ecfe-589f-9d2f-6325724a46ee",'
                        '"value":"25","displayName":"Role1234"}'
                    }
                ],
            }
        ),
    )

    if response.status_code == 400:
        assert_error(response, 400)
        after = scim.read(f"/Users/{user['id']}")
        assert after.get("roles", []) == before.get("roles", [])
    else:
        assert_user_patched(response, user["id"])
