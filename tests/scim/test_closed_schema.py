"""Closed core schemas, bounded extension attributes, and what ``/Schemas`` says about them.

The core and enterprise User schemas and the core Group schema accept only the attributes they
define; attributes under an ``urn:…:extension:…`` schema (Azure's custom mappings) are kept and
read back within ``scim.documents``' ``MAX_EXTENSION_*`` and ``MAX_RESOURCE_BYTES`` bounds.
"""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import reverse

from portal.explanations import explain_failure
from scim.calls import Operation
from scim.documents import (
    MAX_EXTENSION_ATTRIBUTES,
    MAX_EXTENSION_VALUE_BYTES,
    MAX_RESOURCE_BYTES,
)
from scim.models import ExtensionAttribute
from tests import factories

from .conftest import make_group, make_user

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
KNO2 = "urn:ietf:params:scim:schemas:extension:kno2:2.0:User"
KNO2_GROUP = "urn:ietf:params:scim:schemas:extension:kno2:2.0:Group"


def create(scim, **attributes):
    return scim.post("/Users", {"schemas": [CORE], "userName": "ann@riverside.test", **attributes})


def assert_refused(response, scim_type, attribute):
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["scimType"] == scim_type
    assert f'attribute "{attribute}"' in body["detail"]


@pytest.mark.parametrize(
    "attributes, named",
    [
        ({"favouriteColour": "teal"}, "favouriteColour"),
        ({"name": {"givenName": "Ann", "shoeSize": 7}}, "name.shoeSize"),
        ({"emails": [{"value": "a@x.test", "label": "w"}]}, "emails.label"),
        ({ENTERPRISE: {"department": "ICU", "badge": "1"}}, f"{ENTERPRISE}:badge"),
        ({"urn:example:custom:User": {"npi": "1"}}, "urn:example:custom:User"),
    ],
    ids=[
        "core top level",
        "complex sub-attribute",
        "multi-valued sub-attribute",
        "enterprise",
        "URN that is no extension",
    ],
)
def test_an_attribute_the_closed_schemas_do_not_define_is_refused_by_name(scim, attributes, named):
    assert_refused(create(scim, **attributes), "invalidSyntax", named)


@pytest.mark.parametrize(
    "path, named",
    [
        ("favouriteColour", "favouriteColour"),
        ("name.shoeSize", "name.shoeSize"),
        (f"{ENTERPRISE}:badge", f"{ENTERPRISE}:badge"),
    ],
)
def test_a_patch_path_the_closed_schemas_do_not_define_is_invalid_path(scim, path, named):
    user = make_user(scim.organization, "ann@riverside.test")

    response = scim.patch_ops(f"/Users/{user.scim_id}", {"op": "add", "path": path, "value": "x"})

    assert_refused(response, "invalidPath", named)


def test_a_path_less_patch_with_an_undefined_key_is_invalid_path_and_changes_nothing(scim):
    user = make_user(scim.organization, "ann@riverside.test", title="Nurse")

    response = scim.patch_ops(
        f"/Users/{user.scim_id}",
        {"op": "replace", "value": {"title": "Doctor", "favouriteColour": "teal"}},
    )

    assert_refused(response, "invalidPath", "favouriteColour")
    assert scim.get(f"/Users/{user.scim_id}").json()["title"] == "Nurse"


def test_a_group_attribute_the_core_group_schema_does_not_define_is_refused(scim):
    response = scim.post("/Groups", {"displayName": "Nurses", "colour": "teal"})

    assert_refused(response, "invalidSyntax", "colour")


@pytest.mark.parametrize(
    "attributes",
    [
        {KNO2: {"npi": "1234567890"}},
        {f"{KNO2}:npi": "1234567890"},
        {"schemas": [CORE, KNO2], KNO2: {"npi": "1234567890"}},
    ],
    ids=["extension object", "URN-qualified key", "listed in schemas"],
)
def test_an_extension_attribute_is_kept_and_read_back(scim, attributes):
    response = scim.post("/Users", {"userName": "ann@riverside.test", **attributes})

    assert response.status_code == 201, response.content
    fetched = scim.get(f"/Users/{response.json()['id']}").json()
    assert fetched[KNO2] == {"npi": "1234567890"}
    assert KNO2 in fetched["schemas"]


def test_an_extension_attribute_set_by_patch_path_reads_back(scim):
    user = make_user(scim.organization, "ann@riverside.test")

    response = scim.patch_ops(
        f"/Users/{user.scim_id}", {"op": "Add", "path": f"{KNO2}:npi", "value": "1234567890"}
    )

    assert response.status_code == 200, response.content
    assert scim.get(f"/Users/{user.scim_id}").json()[KNO2] == {"npi": "1234567890"}


def test_a_group_extension_attribute_is_kept(scim):
    response = scim.post("/Groups", {"displayName": "Nurses", KNO2_GROUP: {"ward": "4B"}})

    assert response.status_code == 201, response.content
    assert scim.get(f"/Groups/{response.json()['id']}").json()[KNO2_GROUP] == {"ward": "4B"}


def test_an_extension_value_past_its_byte_bound_is_refused_by_name(scim):
    response = create(scim, **{KNO2: {"notes": "x" * MAX_EXTENSION_VALUE_BYTES}})

    assert_refused(response, "invalidValue", f"{KNO2}:notes")
    assert f"at most {MAX_EXTENSION_VALUE_BYTES}" in response.json()["detail"]


def test_an_extension_value_at_its_byte_bound_is_kept(scim):
    # As JSON the value is two quotes longer than the string.
    response = create(scim, **{KNO2: {"notes": "x" * (MAX_EXTENSION_VALUE_BYTES - 2)}})

    assert response.status_code == 201, response.content


def test_an_extension_value_one_byte_past_its_bound_is_refused(scim):
    response = create(scim, **{KNO2: {"notes": "x" * (MAX_EXTENSION_VALUE_BYTES - 1)}})

    assert_refused(response, "invalidValue", f"{KNO2}:notes")


def test_an_extension_value_of_two_byte_characters_filling_its_bound_exactly_is_kept(scim):
    value = "é" * ((MAX_EXTENSION_VALUE_BYTES - 2) // 2)  # 2 bytes each, plus the quotes
    assert len(json.dumps(value, ensure_ascii=False).encode()) == MAX_EXTENSION_VALUE_BYTES

    response = create(scim, **{KNO2: {"notes": value}})

    assert response.status_code == 201, response.content


def test_an_extension_value_is_bounded_in_utf8_bytes_not_characters(scim):
    value = "é" * ((MAX_EXTENSION_VALUE_BYTES - 2) // 2) + "x"  # one byte past, half as many
    assert len(json.dumps(value, ensure_ascii=False)) < MAX_EXTENSION_VALUE_BYTES  # characters

    response = create(scim, **{KNO2: {"notes": value}})

    assert_refused(response, "invalidValue", f"{KNO2}:notes")


def _group_of_exactly(size: int) -> dict:
    """A group body whose stored document (compact UTF-8 JSON) is ``size`` bytes, mostly in
    two-byte characters, each extension value within its own bound."""
    values = {f"a{n:02d}": "é" * 2000 for n in range(size // 4050)}
    body = {"displayName": "Nurses", KNO2_GROUP: {**values, "pad": ""}}
    used = len(json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode())
    body[KNO2_GROUP]["pad"] = "x" * (size - used)
    return body


def test_a_resource_of_exactly_its_byte_bound_is_kept(scim):
    response = scim.post("/Groups", _group_of_exactly(MAX_RESOURCE_BYTES))

    assert response.status_code == 201, response.content


def test_a_resource_one_byte_past_its_byte_bound_is_refused(scim):
    body = _group_of_exactly(MAX_RESOURCE_BYTES + 1)
    assert len(json.dumps(body, ensure_ascii=False)) < MAX_RESOURCE_BYTES  # in characters

    response = scim.post("/Groups", body)

    assert response.status_code == 400
    assert f"at most {MAX_RESOURCE_BYTES}" in response.json()["detail"]


def test_more_extension_attributes_than_the_bound_are_refused(scim):
    many = {f"a{n}": "v" for n in range(MAX_EXTENSION_ATTRIBUTES + 1)}

    response = create(scim, **{KNO2: many})

    assert response.status_code == 400
    assert f"at most {MAX_EXTENSION_ATTRIBUTES}" in response.json()["detail"]


def test_the_bound_counts_attributes_across_extension_schemas(scim):
    half = MAX_EXTENSION_ATTRIBUTES // 2 + 1
    other = "urn:ietf:params:scim:schemas:extension:acme:2.0:User"

    response = create(
        scim,
        **{KNO2: {f"a{n}": "v" for n in range(half)}, other: {f"b{n}": 1 for n in range(half)}},
    )

    assert response.status_code == 400


def test_a_resource_past_its_byte_bound_is_refused(scim):
    per_value = MAX_EXTENSION_VALUE_BYTES - 100
    count = MAX_RESOURCE_BYTES // per_value + 1

    response = create(scim, **{KNO2: {f"a{n}": "x" * per_value for n in range(count)}})

    assert response.status_code == 400
    assert f"at most {MAX_RESOURCE_BYTES}" in response.json()["detail"]


def test_the_150000_key_user_of_the_security_review_is_refused_and_nothing_stored(scim):
    response = create(scim, **{KNO2: {f"k{n}": "v" for n in range(150_000)}})

    assert response.status_code == 400, response.content
    assert scim.get("/Users").json()["totalResults"] == 0


def test_a_patch_onto_a_row_holding_a_legacy_undefined_attribute_drops_it(scim):
    """Rows written while the schema was open may hold such attributes; a PATCH must not fail
    for ever because of them."""
    user = make_user(scim.organization, "ann@riverside.test")
    user.attributes["favouriteColour"] = "teal"
    user.save(update_fields=["attributes"])

    response = scim.patch_ops(
        f"/Users/{user.scim_id}", {"op": "replace", "path": "title", "value": "Nurse"}
    )

    assert response.status_code == 200, response.content
    assert "favouriteColour" not in response.json()


def test_schemas_describe_the_extension_attributes_this_organization_sends(scim):
    create(scim, **{KNO2: {"npi": "1234567890", "licensed": True}})

    response = scim.get(f"/Schemas/{KNO2}")

    assert response.status_code == 200, response.content
    schema = response.json()
    assert {a["name"]: a["type"] for a in schema["attributes"]} == {
        "npi": "string",
        "licensed": "boolean",
    }
    assert f"{MAX_EXTENSION_ATTRIBUTES} extension attributes per resource" in schema["description"]


def test_schemas_list_no_extension_before_azure_sends_one(scim):
    ids = [s["id"] for s in scim.get("/Schemas").json()["Resources"]]

    assert ids == [CORE, "urn:ietf:params:scim:schemas:core:2.0:Group", ENTERPRISE]


def test_another_organizations_extension_attributes_are_not_in_its_schemas(scim, other_scim):
    other_scim.post("/Users", {"userName": "bob@lakeside.test", KNO2: {"secretThing": "1"}})

    assert scim.get(f"/Schemas/{KNO2}").status_code == 404
    assert other_scim.get(f"/Schemas/{KNO2}").status_code == 200


def test_each_extension_attribute_is_recorded_once_per_organization(scim):
    create(scim, **{KNO2: {"npi": "1"}})
    make_user(scim.organization, "bob@riverside.test", **{KNO2: {"NPI": "2", "ward": "4B"}})

    recorded = ExtensionAttribute.objects.filter(organization=scim.organization)
    assert sorted(a.name for a in recorded) == ["npi", "ward"]


def test_past_the_organization_bound_a_new_extension_attribute_is_refused(scim):
    ExtensionAttribute.objects.bulk_create(
        ExtensionAttribute(
            organization=scim.organization,
            resource_type="User",
            schema=KNO2,
            name=f"a{n}",
            value_type="string",
        )
        for n in range(ExtensionAttribute.MAX_PER_ORGANIZATION)
    )

    response = create(scim, **{KNO2: {"oneMore": "x"}})

    assert_refused(response, "invalidValue", f"{KNO2}:oneMore")


def test_the_portal_explanation_names_the_mapping_to_remove(scim):
    detail = create(scim, favouriteColour="teal").json()["detail"]

    fix = explain_failure(
        operation=Operation.CREATE_USER,
        status_code=400,
        error_type="invalidSyntax",
        error_detail=detail,
    )

    assert "remove the mapping whose target attribute is favouriteColour" in fix


def test_the_portal_explanation_names_an_oversized_extension_mapping(scim):
    detail = create(scim, **{KNO2: {"notes": "x" * 5000}}).json()["detail"]

    fix = explain_failure(
        operation=Operation.CREATE_USER,
        status_code=400,
        error_type="invalidValue",
        error_detail=detail,
    )

    assert f"target attribute is {KNO2}:notes" in fix


def test_azures_create_user_example_is_accepted_by_the_closed_schema(scim):
    # docs/azure-scim-client.md §2.2.1 and §2.2.7: every attribute Azure's default mapping sends.
    response = scim.post(
        "/Users",
        {
            "schemas": [CORE, ENTERPRISE],
            "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
            "userName": "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1",
            "active": True,
            "emails": [{"primary": True, "type": "work", "value": "Test_User@testuser.com"}],
            "meta": {"resourceType": "User"},
            "name": {
                "formatted": "givenName familyName",
                "familyName": "familyName",
                "givenName": "givenName",
            },
            "addresses": [{"country": "ML", "type": "work", "primary": True}],
            "roles": [],
            "title": "Nurse",
            "displayName": "Ann",
            "preferredLanguage": "en-US",
            "phoneNumbers": [{"type": "work", "value": "555"}],
            ENTERPRISE: {"department": "ICU", "manager": {"value": "m1"}},
        },
    )

    assert response.status_code == 201, response.content


def test_group_members_with_a_null_ref_still_pass_the_closed_group_schema(scim):
    user = make_user(scim.organization, "ann@riverside.test")
    group = make_group(scim.organization, "Nurses")

    response = scim.patch_ops(
        f"/Groups/{group.scim_id}",
        {"op": "Add", "path": "members", "value": [{"$ref": None, "value": str(user.scim_id)}]},
    )

    assert response.status_code == 204, response.content


def test_staff_see_the_extension_attributes_an_organizations_azure_sends(
    scim, other_scim, staff_user
):
    create(scim, **{KNO2: {"npi": "1234567890"}})
    other_scim.post("/Users", {"userName": "bob@lakeside.test", KNO2: {"lakesideOnly": "1"}})
    staff = factories.staff_sign_in(Client(), staff_user)

    page = staff.get(
        reverse("admin:organizations_organization_change", args=[scim.organization.pk])
    ).content.decode()

    assert f"<code>{KNO2}:npi</code> (string, first sent" in page
    assert "lakesideOnly" not in page
