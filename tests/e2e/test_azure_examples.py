"""Every request/response example Microsoft documents for its SCIM client, over real HTTP.

Section numbers refer to ``/work/shared/reference/azure-scim-client.md`` §2. Request bodies are
Microsoft's, corrected only where the published JSON is not valid JSON (trailing commas, line
breaks inside strings). Responses are checked for what Azure AD relies on: status, content type
and the fields it reads back, never Microsoft's example ids or timestamps.
"""

from __future__ import annotations

import copy
import json
import uuid
from urllib.parse import quote

import pytest

from .client import (
    ENTERPRISE,
    GROUP,
    USER,
    assert_error,
    assert_list_response,
    assert_no_nulls,
    assert_scim_json,
    describe,
)

pytestmark = pytest.mark.django_db(transaction=True)

MS_GROUP_SCHEMA = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"

# §2.2.1, verbatim (it is valid JSON as published).
CREATE_USER = {
    "schemas": [USER, ENTERPRISE],
    "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
    "userName": "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee",
    "active": True,
    "emails": [{
        "primary": True,
        "type": "work",
        "value": "Test_User_11bb11bb-cc22-dd33-ee44-55ff55ff55ff@testuser.com",
    }],
    "meta": {"resourceType": "User"},
    "name": {
        "formatted": "givenName familyName",
        "familyName": "familyName",
        "givenName": "givenName",
    },
    "roles": [],
}

# §2.3.1, verbatim.
CREATE_GROUP = {
    "schemas": [GROUP, MS_GROUP_SCHEMA],
    "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
    "displayName": "displayName",
    "meta": {"resourceType": "Group"},
}


def patch_body(*operations: dict) -> dict:
    return {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": list(operations)}


def work_emails(user: dict) -> list[str]:
    return [email["value"] for email in user.get("emails", []) if email.get("type") == "work"]


def assert_user_patched(response, user_id: str) -> None:
    """RFC 7644 §3.5.2: 200 with the whole resource, or 204 (Microsoft G3 allows either)."""
    assert response.status_code in (200, 204), describe(response)
    if response.status_code == 200:
        assert_scim_json(response)
        assert response.json()["id"] == user_id, describe(response)
    else:
        assert response.content == b"", describe(response)


def assert_no_content(response) -> None:
    """Group PATCH and DELETE: 204 and no body (Microsoft §2.3.4–§2.3.7, RFC 7644 §3.6)."""
    assert response.status_code == 204, describe(response)
    assert response.content == b"", describe(response)


def assert_meta(resource: dict, resource_type: str, base_url: str, endpoint: str) -> None:
    """RFC 7643 §3.1: ``meta`` with the resource type, timestamps, location and version."""
    meta = resource["meta"]
    assert meta["resourceType"] == resource_type
    assert meta["created"]
    assert meta["lastModified"] >= meta["created"]
    assert meta["location"] == f"{base_url}/{endpoint}/{resource['id']}"
    assert isinstance(meta["version"], str) and meta["version"]


def create_ms_user(scim) -> dict:
    response = scim.post("/Users", CREATE_USER)
    assert response.status_code == 201, describe(response)
    return response.json()


def create_ms_group(scim) -> dict:
    response = scim.post("/Groups", CREATE_GROUP)
    assert response.status_code == 201, describe(response)
    return response.json()


# §2.1 Test Connection ----------------------------------------------------------------------


@pytest.mark.parametrize("resource, attribute", [("Users", "userName"),
                                                 ("Groups", "displayName")])
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
    url = (f"{scim.base}/Groups?excludedAttributes=members"
           f"&filter=displayName+eq+%22{uuid.uuid4()}%22")

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


@pytest.mark.parametrize("missing_id", [
    "5171a35d82074e068ce2",  # Microsoft's example id: not one of ours
    str(uuid.uuid4()),
    "23B51B0E5D7AE9110A49411D@7cca31655d49f3640a494224",
])
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

    response = scim.patch(f"/Users/{user['id']}", patch_body(
        {"op": "Replace", "path": 'emails[type eq "work"].value',
         "value": "updatedEmail@microsoft.com"},
        {"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"},
    ))

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

    response = scim.patch(f"/Users/{user['id']}", patch_body(
        {"op": "Replace", "path": "userName", "value": new_name},
    ))

    assert_user_patched(response, user["id"])
    assert scim.read(f"/Users/{user['id']}")["userName"] == new_name
    assert [u["id"] for u in scim.search("Users", f'userName eq "{new_name}"')] == [user["id"]]
    assert scim.search("Users", f'userName eq "{CREATE_USER["userName"]}"') == []


@pytest.mark.parametrize("op, value", [
    ("Replace", False),  # §2.2.7 as published: capitalised op with a JSON boolean
    ("Replace", "False"),  # §2.6 without the flag: a capitalised string
    ("replace", False),  # §2.6 with aadOptscim062020
])
def test_disable_user_keeps_it_readable_as_inactive(scim, op, value):
    user = create_ms_user(scim)

    response = scim.patch(f"/Users/{user['id']}", patch_body(
        {"op": op, "path": "active", "value": value},
    ))

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
    scim.patch(f"/Users/{user['id']}", patch_body(
        {"op": "Replace", "path": "active", "value": "False"}))

    response = scim.patch(f"/Users/{user['id']}", patch_body(
        {"op": op, "path": "active", "value": value},
    ))

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
    response = scim.post("/Groups", {
        "schemas": [GROUP], "externalId": "0899060-370e-46a-bc5f-3aas207ed41d",
        "displayName": "Org Admin", "members": [], "meta": {"resourceType": "Group"},
    })

    assert response.status_code == 201, describe(response)
    assert response.json()["displayName"] == "Org Admin"
    assert response.json().get("members", []) == []


def test_get_group_excluding_members(scim):
    group = create_ms_group(scim)
    user = scim.create_user("member@testuser.com")
    scim.patch(f"/Groups/{group['id']}", patch_body(
        {"op": "Add", "path": "members", "value": [{"value": user["id"]}]}))

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
    scim.patch(f"/Groups/{group['id']}", patch_body(
        {"op": "Add", "path": "members", "value": [{"value": user["id"]}]}))
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

    assert_no_content(scim.patch(f"/Groups/{group['id']}", patch_body(
        {"op": "Replace", "path": "displayName", "value": new_name},
    )))

    assert scim.read(f"/Groups/{group['id']}")["displayName"] == new_name
    assert [g["id"] for g in scim.search("Groups", f'displayName eq "{new_name}"')] == [
        group["id"]
    ]


def test_add_member_with_null_ref_answers_204(scim):
    group = create_ms_group(scim)
    user = scim.create_user("member@testuser.com")

    assert_no_content(scim.patch(f"/Groups/{group['id']}", patch_body(
        {"op": "Add", "path": "members", "value": [{"$ref": None, "value": user["id"]}]},
    )))

    assert scim.member_ids(group["id"]) == {user["id"]}


def test_remove_member_by_value_list_removes_only_that_member(scim):
    group = create_ms_group(scim)
    leaving = scim.create_user("leaving@testuser.com")
    staying = scim.create_user("staying@testuser.com")
    scim.patch(f"/Groups/{group['id']}", patch_body(
        {"op": "Add", "path": "members",
         "value": [{"value": leaving["id"]}, {"value": staying["id"]}]}))

    assert_no_content(scim.patch(f"/Groups/{group['id']}", patch_body(
        {"op": "Remove", "path": "members", "value": [{"$ref": None, "value": leaving["id"]}]},
    )))

    assert scim.member_ids(group["id"]) == {staying["id"]}
    assert scim.read(f"/Users/{leaving['id']}")["userName"] == "leaving@testuser.com"


def test_delete_group_keeps_its_members(scim):
    group = create_ms_group(scim)
    user = scim.create_user("member@testuser.com")
    scim.patch(f"/Groups/{group['id']}", patch_body(
        {"op": "Add", "path": "members", "value": [{"value": user["id"]}]}))

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

    response = scim.patch(f"/Users/{report['id']}", patch_body({
        "op": "Add", "path": "manager",
        "value": [{"$ref": f"{scim.base}/Users/{manager['id']}", "value": manager["id"]}],
    }))

    assert_user_patched(response, report["id"])
    assert scim.read(f"/Users/{report['id']}")[ENTERPRISE]["manager"]["value"] == manager["id"]
    check = assert_list_response(scim.get("/Users?attributes=id&filter=" + quote(
        f'id eq "{report["id"]}" and manager eq "{manager["id"]}"')))
    assert [set(u) - {"schemas", "meta"} for u in check["Resources"]] == [{"id"}]
    assert check["Resources"][0]["id"] == report["id"]
    other = scim.create_user("other.manager@testuser.com")
    stale = assert_list_response(scim.get("/Users?attributes=id&filter=" + quote(
        f'id eq "{report["id"]}" and manager eq "{other["id"]}"')))
    assert stale["totalResults"] == 0


# §2.6 Both PATCH dialects (aadOptscim062020) ------------------------------------------------


@pytest.mark.parametrize("op", ["Add", "add"])
def test_add_single_value_string_attribute(scim, op):
    user = create_ms_user(scim)

    response = scim.patch(f"/Users/{user['id']}", patch_body(
        {"op": op, "path": "nickName", "value": "Babs"}))

    assert_user_patched(response, user["id"])
    assert scim.read(f"/Users/{user['id']}")["nickName"] == "Babs"


def test_replace_multiple_attributes_without_flag(scim):
    user = create_ms_user(scim)

    response = scim.patch(f"/Users/{user['id']}", patch_body(
        {"op": "Replace", "path": "displayName", "value": "Pvlo"},
        {"op": "Replace", "path": 'emails[type eq "work"].value',
         "value": "TestBcwqnm@test.microsoft.com"},
        {"op": "Replace", "path": "name.givenName", "value": "Gtfd"},
        {"op": "Replace", "path": "name.familyName", "value": "Pkqf"},
        {"op": "Replace", "path": "externalId", "value": "Eqpj"},
        {"op": "Replace", "path": f"{ENTERPRISE}:employeeNumber", "value": "Eqpj"},
    ))

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

    response = scim.patch(f"/Users/{user['id']}", patch_body(
        {"op": "replace", "path": 'emails[type eq "work"].value',
         "value": "TestMhvaes@test.microsoft.com"},
        {"op": "replace", "value": {
            "displayName": "Bjfe",
            "name.givenName": "Kkom",
            "name.familyName": "Unua",
            f"{ENTERPRISE}:employeeNumber": "Aklq",
        }},
    ))

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
    scim.patch(f"/Groups/{group['id']}", patch_body(
        {"op": "Add", "path": "members", "value": [{"value": u["id"]} for u in users]}))

    assert_no_content(scim.patch(f"/Groups/{group['id']}", patch_body(
        {"op": "Remove", "path": "members", "value": [{"value": users[1]["id"]}]})))

    assert scim.member_ids(group["id"]) == {users[0]["id"], users[2]["id"]}


def test_remove_member_with_flag_by_value_filter(scim):
    group = create_ms_group(scim)
    users = [scim.create_user(f"u{n}@testuser.com") for n in range(3)]
    scim.patch(f"/Groups/{group['id']}", patch_body(
        {"op": "Add", "path": "members", "value": [{"value": u["id"]} for u in users]}))

    assert_no_content(scim.patch(f"/Groups/{group['id']}", patch_body(
        {"op": "remove", "path": f'members[value eq "{users[1]["id"]}"]'})))

    assert scim.member_ids(group["id"]) == {users[0]["id"], users[2]["id"]}


def test_flag_query_string_on_the_tenant_url_is_tolerated(scim):
    """Customers append ``?aadOptscim062020`` to the tenant URL; Entra may forward it."""
    created = scim.post("/Users?aadOptscim062020", CREATE_USER)
    assert created.status_code == 201, describe(created)
    user_id = created.json()["id"]

    found = scim.get("/Users?aadOptscim062020&filter=" + quote(
        f'userName eq "{CREATE_USER["userName"]}"'))
    assert [u["id"] for u in assert_list_response(found)["Resources"]] == [user_id]
    assert scim.read(f"/Users/{user_id}?aadOptscim062020")["id"] == user_id
    assert_user_patched(scim.patch(f"/Users/{user_id}?aadOptscim062020", patch_body(
        {"op": "replace", "path": "active", "value": False})), user_id)
    assert assert_list_response(scim.get("/Groups?aadOptscim062020"))["totalResults"] == 0
    assert_no_content(scim.delete(f"/Users/{user_id}?aadOptscim062020"))


# §2.7 Role assignments (Kno2fy maps none) ---------------------------------------------------


def test_role_patch_is_accepted_or_refused_cleanly(scim):
    """Kno2fy has no roles mapping: a roles PATCH may be stored or refused with a 400, but
    never a 5xx, and a refusal changes nothing."""
    user = create_ms_user(scim)
    before = scim.read(f"/Users/{user['id']}")

    response = scim.patch(f"/Users/{user['id']}", patch_body({
        "op": "Add", "path": "roles", "value": [{
            "value": '{"id":"06b07648-ecfe-589f-9d2f-6325724a46ee",'
                     '"value":"25","displayName":"Role1234"}'}]}))

    if response.status_code == 400:
        assert_error(response, 400)
        after = scim.read(f"/Users/{user['id']}")
        assert after.get("roles", []) == before.get("roles", [])
    else:
        assert_user_patched(response, user["id"])


# §2.8 SCIM Validator checks -----------------------------------------------------------------


def test_validator_create_user_then_find_it_by_joining_property(scim):
    created = create_ms_user(scim)

    [found] = scim.search("Users", f'userName eq "{CREATE_USER["userName"]}"')

    assert found["id"] == created["id"]
    assert found["externalId"] == CREATE_USER["externalId"]
    assert found["emails"] == CREATE_USER["emails"]
    assert found["name"]["givenName"] == "givenName"


@pytest.mark.parametrize("user_name", [
    CREATE_USER["userName"], CREATE_USER["userName"].upper(), CREATE_USER["userName"].lower(),
])
def test_validator_duplicate_user_is_409_uniqueness(scim, user_name):
    create_ms_user(scim)
    duplicate = copy.deepcopy(CREATE_USER)
    duplicate["userName"] = user_name
    duplicate["externalId"] = str(uuid.uuid4())

    assert_error(scim.post("/Users", duplicate), 409, "uniqueness")

    assert len(scim.search("Users", f'userName eq "{user_name}"')) == 1


@pytest.mark.parametrize("display_name", ["displayName", "DISPLAYNAME"])
def test_validator_duplicate_group_is_409_uniqueness(scim, display_name):
    create_ms_group(scim)

    response = scim.post("/Groups", {**CREATE_GROUP, "displayName": display_name,
                                     "externalId": str(uuid.uuid4())})

    assert_error(response, 409, "uniqueness")
    assert len(scim.search("Groups", 'displayName eq "displayName"')) == 1


def test_validator_filters_match_in_a_different_case(scim):
    user = scim.create_user("ford_purdy@testuser.com")
    group = scim.create_group("Clinic Staff")

    assert [u["id"] for u in scim.search("Users", 'userName eq "FORD_PURDY@TESTUSER.COM"')] == [
        user["id"]]
    assert [g["id"] for g in scim.search("Groups", 'displayName eq "clinic staff"',
                                         excludedAttributes="members")] == [group["id"]]


def test_validator_add_attributes(scim):
    user = create_ms_user(scim)

    response = scim.patch(f"/Users/{user['id']}", patch_body(
        {"op": "add", "path": "title", "value": "Nurse"},
        {"op": "add", "path": "preferredLanguage", "value": "en-US"},
        {"op": "add", "path": 'phoneNumbers[type eq "work"].value', "value": "55555555555"},
        {"op": "add", "path": 'addresses[type eq "work"].locality', "value": "Springfield"},
        {"op": "add", "path": f"{ENTERPRISE}:department", "value": "Cardiology"},
    ))

    assert_user_patched(response, user["id"])
    [after] = scim.search("Users", f'userName eq "{CREATE_USER["userName"]}"')
    assert after["title"] == "Nurse"
    assert after["preferredLanguage"] == "en-US"
    # G2: stored as sent, not reformatted.
    assert [p["value"] for p in after["phoneNumbers"] if p["type"] == "work"] == ["55555555555"]
    assert [a["locality"] for a in after["addresses"] if a["type"] == "work"] == ["Springfield"]
    assert after[ENTERPRISE]["department"] == "Cardiology"


def test_validator_path_less_replace_of_joining_properties(scim):
    user = create_ms_user(scim)

    response = scim.patch(f"/Users/{user['id']}", patch_body(
        {"op": "replace", "value": {"userName": "renamed@testuser.com"}},
        {"op": "replace", "value": {"displayName": "Renamed"}},
        {"op": "replace", "value": {"externalId": "new-external-id"}},
    ))

    assert_user_patched(response, user["id"])
    [after] = scim.search("Users", 'userName eq "renamed@testuser.com"')
    assert after["id"] == user["id"]
    assert after["displayName"] == "Renamed"
    assert after["externalId"] == "new-external-id"


def test_validator_replace_work_address_parts(scim):
    user = create_ms_user(scim)
    scim.patch(f"/Users/{user['id']}", patch_body(
        {"op": "add", "path": "addresses", "value": [
            {"type": "work", "streetAddress": "1 Old Road", "locality": "Oldtown",
             "primary": True}]}))

    response = scim.patch(f"/Users/{user['id']}", patch_body(
        {"op": "replace", "path": 'addresses[type eq "work"].streetAddress',
         "value": "2 New Road"},
        {"op": "replace", "path": 'addresses[type eq "work"].locality', "value": "Newtown"},
        {"op": "replace", "path": 'phoneNumbers[type eq "work"].value', "value": "+1 555 0100"},
    ))

    assert_user_patched(response, user["id"])
    after = scim.read(f"/Users/{user['id']}")
    [address] = after["addresses"]
    assert (address["streetAddress"], address["locality"]) == ("2 New Road", "Newtown")
    assert [p["value"] for p in after["phoneNumbers"]] == ["+1 555 0100"]


def test_validator_multiple_ops_on_the_same_attribute_apply_in_order(scim):
    user = create_ms_user(scim)

    response = scim.patch(f"/Users/{user['id']}", patch_body(
        {"op": "replace", "path": "displayName", "value": "First"},
        {"op": "replace", "path": "displayName", "value": "Second"},
        {"op": "add", "path": "nickName", "value": "Nick"},
        {"op": "remove", "path": "nickName"},
    ))

    assert_user_patched(response, user["id"])
    after = scim.read(f"/Users/{user['id']}")
    assert after["displayName"] == "Second"
    assert "nickName" not in after


@pytest.mark.parametrize("empty", ["", None])
def test_validator_null_update_clears_optional_attributes(scim, empty):
    """Microsoft's SCIM_Null_Update_Test; RFC 7644 §3.5.2.3 treats null as "no value"."""
    user = scim.create_user("nulls@testuser.com", title="Nurse", nickName="Nick",
                            displayName="Null Test")

    response = scim.patch(f"/Users/{user['id']}", patch_body(
        {"op": "replace", "path": "title", "value": empty},
        {"op": "replace", "path": "nickName", "value": empty},
    ))

    assert_user_patched(response, user["id"])
    after = scim.read(f"/Users/{user['id']}")
    assert after.get("title") in (None, "")
    assert after.get("nickName") in (None, "")
    assert after["displayName"] == "Null Test"


def test_validator_manager_set_change_and_remove(scim):
    first = scim.create_user("first.manager@testuser.com")
    second = scim.create_user("second.manager@testuser.com")
    report = scim.create_user("report@testuser.com")
    path = f"/Users/{report['id']}"

    def manager() -> str | None:
        return scim.read(path).get(ENTERPRISE, {}).get("manager", {}).get("value") or None

    assert_user_patched(scim.patch(path, patch_body(
        {"op": "add", "path": f"{ENTERPRISE}:manager", "value": {"value": first["id"]}})),
        report["id"])
    assert manager() == first["id"]
    assert_user_patched(scim.patch(path, patch_body(
        {"op": "replace", "path": f"{ENTERPRISE}:manager", "value": second["id"]})),
        report["id"])
    assert manager() == second["id"]
    assert_user_patched(scim.patch(path, patch_body(
        {"op": "remove", "path": f"{ENTERPRISE}:manager"})), report["id"])
    assert manager() is None


def test_validator_group_replace_attributes_and_add_member(scim):
    group = create_ms_group(scim)
    user = create_ms_user(scim)

    assert_no_content(scim.patch(f"/Groups/{group['id']}", patch_body(
        {"op": "replace", "value": {"displayName": "Renamed Group", "externalId": "ext-2"}})))
    assert_no_content(scim.patch(f"/Groups/{group['id']}", patch_body(
        {"op": "add", "path": "members", "value": [{"value": user["id"]}]})))

    [found] = scim.search("Groups", 'displayName eq "Renamed Group"')
    assert found["id"] == group["id"]
    assert found["externalId"] == "ext-2"
    assert scim.member_ids(group["id"]) == {user["id"]}


def test_validator_delete_twice_and_delete_unknown_are_404(scim):
    user = create_ms_user(scim)

    assert_no_content(scim.delete(f"/Users/{user['id']}"))
    assert_error(scim.delete(f"/Users/{user['id']}"), 404)
    assert_error(scim.delete(f"/Users/{uuid.uuid4()}"), 404)
    assert_error(scim.delete(f"/Groups/{uuid.uuid4()}"), 404)


def test_validator_request_content_type_with_charset(scim):
    response = scim.post("/Users", CREATE_USER,
                         headers={"Content-Type": "application/scim+json; charset=utf-8"})

    assert response.status_code == 201, describe(response)
    assert response.json()["userName"] == CREATE_USER["userName"]


def test_list_response_pages_with_start_index_and_count(scim):
    """Microsoft's gallery validation pages with ``startIndex``/``count`` (page size 5)."""
    created = {scim.create_user(f"page{n:02d}@testuser.com")["id"] for n in range(12)}

    seen: list[str] = []
    for start in (1, 6, 11):
        body = assert_list_response(scim.get(f"/Users?startIndex={start}&count=5"))
        assert body["totalResults"] == 12
        assert body["startIndex"] == start
        assert body["itemsPerPage"] == len(body["Resources"])
        seen += [user["id"] for user in body["Resources"]]

    assert len(seen) == 12 and set(seen) == created


def test_another_tenants_token_and_data_stay_apart(scim, other_scim):
    """Cross-tenant check: org B's token on org A's URL is refused; its data stays apart."""
    mine = create_ms_user(scim)
    theirs = other_scim.post("/Users", CREATE_USER)
    assert theirs.status_code == 201, describe(theirs)  # same userName, another tenant
    intruder = scim.session.get(scim.url(f"/Users/{mine['id']}"), timeout=30,
                                headers={"Authorization": f"Bearer {other_scim.token}"})

    assert_error(intruder, 401)
    assert_error(other_scim.get(f"/Users/{mine['id']}"), 404)
    assert [u["id"] for u in scim.search("Users", f'userName eq "{CREATE_USER["userName"]}"')] \
        == [mine["id"]]
    assert assert_list_response(scim.get("/Users"))["totalResults"] == 1


# §3.2 The filters Entra sends, and what list responses carry ---------------------------------


def test_the_filters_entra_sends_match_case_insensitively(scim):
    user = create_ms_user(scim)
    scim.create_user("other@testuser.com", externalId="other-ext",
                     emails=[{"type": "work", "value": "other@testuser.com"}])
    work_email = CREATE_USER["emails"][0]["value"]

    for filter_ in (
        f'userName eq "{CREATE_USER["userName"].upper()}"',
        f'externalId eq "{CREATE_USER["externalId"]}"',
        f'emails[type eq "work"].value eq "{work_email.upper()}"',
        f'userName eq "{CREATE_USER["userName"]}" and externalId eq "{CREATE_USER["externalId"]}"',
    ):
        assert [u["id"] for u in scim.search("Users", filter_)] == [user["id"]], filter_
    assert scim.search("Users", f'userName eq "{CREATE_USER["userName"]}" and '
                                'externalId eq "other-ext"') == []


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

    assert_error(scim.patch(f"/Users/{second['id']}", patch_body(
        {"op": "Replace", "path": "displayName", "value": "Changed"},
        {"op": "Replace", "path": "userName", "value": taken})), 409, "uniqueness")
    assert_error(scim.put(f"/Users/{second['id']}", {
        "schemas": [USER], "userName": taken, "displayName": "Changed"}), 409, "uniqueness")

    after = scim.read(f"/Users/{second['id']}")
    assert (after["userName"], after["displayName"]) == ("second@testuser.com", "Second")
    assert scim.read(f"/Users/{first['id']}")["userName"] == CREATE_USER["userName"]


def test_renaming_a_group_onto_another_groups_name_is_409(scim):
    create_ms_group(scim)
    other = scim.create_group("Other group")

    assert_error(scim.patch(f"/Groups/{other['id']}", patch_body(
        {"op": "Replace", "path": "displayName", "value": "DISPLAYNAME"})), 409, "uniqueness")

    assert scim.read(f"/Groups/{other['id']}")["displayName"] == "Other group"


def test_put_replaces_the_whole_user(scim):
    """RFC 7644 §3.5.1: attributes left out of a PUT are cleared; ``id`` never changes."""
    user = create_ms_user(scim)
    replacement = {
        "schemas": [USER], "userName": CREATE_USER["userName"], "active": False,
        "displayName": "Replaced", "name": {"givenName": "New"},
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

    assert_no_content(scim.patch(f"/Groups/{group['id']}", patch_body(
        {"op": "Add", "path": "members", "value": [{"value": uid} for uid in users[:4]]},
        {"op": "Remove", "path": "members", "value": [{"value": users[0]}]},
        {"op": "remove", "path": f'members[value eq "{users[1]}"]'},
        {"op": "add", "path": "members", "value": [{"value": users[4]}, {"value": users[2]}]},
    )))

    assert scim.member_ids(group["id"]) == {users[2], users[3], users[4]}


def test_remove_members_without_value_or_filter_empties_the_group(scim):
    """RFC 7644 §3.5.2.2: no filter and no value removes all values. Only the value-list form
    that Entra sends must never do that (tested above)."""
    group = create_ms_group(scim)
    user = scim.create_user("member@testuser.com")
    scim.patch(f"/Groups/{group['id']}", patch_body(
        {"op": "Add", "path": "members", "value": [{"value": user["id"]}]}))

    assert_no_content(scim.patch(f"/Groups/{group['id']}", patch_body(
        {"op": "remove", "path": "members"})))

    assert scim.member_ids(group["id"]) == set()
    assert scim.read(f"/Users/{user['id']}")["id"] == user["id"]


def test_group_lists_and_reads_honour_attributes_and_excluded_members(scim):
    group = create_ms_group(scim)
    user = scim.create_user("member@testuser.com")
    scim.patch(f"/Groups/{group['id']}", patch_body(
        {"op": "Add", "path": "members", "value": [{"value": user["id"]}]}))

    listed = assert_list_response(scim.get("/Groups?excludedAttributes=members"))
    assert [("members" in g, g["displayName"]) for g in listed["Resources"]] == [
        (False, "displayName")]
    only_name = scim.read(f"/Groups/{group['id']}?attributes=displayName")
    assert set(only_name) - {"schemas", "meta"} == {"id", "displayName"}
    [member] = scim.read(f"/Groups/{group['id']}")["members"]
    assert member["value"] == user["id"]
    assert member["$ref"].endswith(f"/Users/{user['id']}")


@pytest.mark.parametrize("removal", [
    {"op": "remove", "path": f"{ENTERPRISE}:manager"},
    {"op": "Replace", "path": f"{ENTERPRISE}:manager", "value": ""},
    {"op": "replace", "path": f"{ENTERPRISE}:manager", "value": {"value": ""}},
    {"op": "remove", "path": "manager[value eq \"{manager}\"]"},
    {"op": "Remove", "path": "manager"},
], ids=["remove-urn", "replace-empty-string", "replace-empty-value", "remove-filter",
        "remove-short-path"])
def test_every_manager_removal_shape_clears_the_manager(scim, removal):
    """Reference §3.1: Entra and its validator remove a manager in all these shapes."""
    manager = scim.create_user("manager@testuser.com")
    report = scim.create_user("report@testuser.com", schemas=[USER, ENTERPRISE],
                              **{ENTERPRISE: {"manager": {"value": manager["id"]},
                                              "department": "ER"}})
    assert report[ENTERPRISE]["manager"]["value"] == manager["id"]
    operation = {**removal, "path": removal["path"].format(manager=manager["id"])}

    assert_user_patched(scim.patch(f"/Users/{report['id']}", patch_body(operation)),
                        report["id"])

    after = scim.read(f"/Users/{report['id']}")
    assert "manager" not in after.get(ENTERPRISE, {})
    assert after[ENTERPRISE]["department"] == "ER"


@pytest.mark.parametrize("value", [
    "{manager}", {"value": "{manager}"}, [{"value": "{manager}"}],
    [{"$ref": None, "value": "{manager}"}],
], ids=["bare-string", "object", "list", "list-null-ref"])
@pytest.mark.parametrize("op, path", [("Add", "manager"), ("replace", f"{ENTERPRISE}:manager"),
                                      ("add", f"{ENTERPRISE}:manager")])
def test_every_manager_set_shape_sets_the_manager(scim, op, path, value):
    manager = scim.create_user("manager@testuser.com")
    report = scim.create_user("report@testuser.com")
    value = json.loads(json.dumps(value).replace("{manager}", manager["id"]))

    assert_user_patched(scim.patch(f"/Users/{report['id']}", patch_body(
        {"op": op, "path": path, "value": value})), report["id"])

    after = scim.read(f"/Users/{report['id']}")
    assert after[ENTERPRISE]["manager"]["value"] == manager["id"]
    assert ENTERPRISE in after["schemas"]


def test_patch_with_the_extension_urn_as_path(scim):
    """RFC 7644 §3.10: the extension's schema URN is itself an attribute path."""
    user = scim.create_user("alice@testuser.com")

    assert_user_patched(scim.patch(f"/Users/{user['id']}", patch_body(
        {"op": "add", "path": ENTERPRISE, "value": {"department": "X"}})), user["id"])
    after = scim.read(f"/Users/{user['id']}")
    assert after[ENTERPRISE] == {"department": "X"}
    assert set(after["schemas"]) == {USER, ENTERPRISE}

    assert_user_patched(scim.patch(f"/Users/{user['id']}", patch_body(
        {"op": "remove", "path": ENTERPRISE})), user["id"])
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


@pytest.mark.parametrize("accept", [
    None, "*/*", "application/json", "application/scim+json",
    "application/scim+json; charset=utf-8", "application/json, text/plain, */*",
])
def test_any_accept_header_azure_might_send_gets_scim_json(scim, accept):
    """Reference §2.1: a Rails SP answered Test Connection with 406; never require an Accept."""
    response = scim.session.get(scim.url("/Users?filter=userName+eq+%22nobody%22"),
                                headers={"Accept": accept}, timeout=30)

    assert assert_list_response(response)["totalResults"] == 0
