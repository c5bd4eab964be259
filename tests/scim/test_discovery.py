"""Discovery endpoints (RFC 7644 §4; docs/azure-scim-client.md §1.4, §2.4): ServiceProviderConfig,
Schemas, ResourceTypes, each a SCIM document or a ListResponse with totalResults."""

from __future__ import annotations

import pytest

from tests.e2e.azure import (
    ENTRA_DEFAULT_GROUP_TARGETS,
    ENTRA_DEFAULT_USER_TARGETS,
    validator_lookup,
    validator_missing,
)
from tests.schemas import ENTERPRISE, GROUP, SCIM_JSON, SERVICE_PROVIDER_CONFIG, USER
from tests.schemas import LIST_RESPONSE as LIST

from .conftest import ScimClient


def test_schemas_lists_user_group_and_enterprise_user_with_total_results(scim):
    response = scim.get("/Schemas")

    assert response.status_code == 200
    assert response["Content-Type"] == SCIM_JSON
    body = response.json()
    assert body["schemas"] == [LIST]
    assert body["totalResults"] == 3
    assert {s["id"] for s in body["Resources"]} == {USER, GROUP, ENTERPRISE}
    assert {s["name"] for s in body["Resources"]} == {"User", "Group", "EnterpriseUser"}


def test_user_schema_says_username_is_case_insensitive_and_unique(scim):
    schema = scim.get(f"/Schemas/{USER}").json()

    user_name = next(a for a in schema["attributes"] if a["name"] == "userName")
    assert user_name["caseExact"] is False
    assert user_name["uniqueness"] == "server"
    assert schema["meta"]["location"] == f"{scim.organization.scim_base_url}/Schemas/{USER}"


def test_schema_documents_carry_no_null_values(scim):
    def walk(value):
        if isinstance(value, dict):
            return all(v is not None and walk(v) for v in value.values())
        if isinstance(value, list):
            return all(walk(v) for v in value)
        return True

    assert walk(scim.get("/Schemas").json())


def test_unknown_schema_answers_404_with_scim_error(scim):
    response = scim.get("/Schemas/urn:example:nope")

    assert response.status_code == 404
    assert response.json()["status"] == "404"


def test_resource_types_list_users_and_groups_with_total_results(scim):
    body = scim.get("/ResourceTypes").json()

    assert body["schemas"] == [LIST]
    assert body["totalResults"] == 2
    by_id = {r["id"]: r for r in body["Resources"]}
    assert by_id["User"]["endpoint"] == "/Users"
    assert by_id["User"]["schemaExtensions"] == [{"schema": ENTERPRISE, "required": False}]
    assert by_id["Group"]["endpoint"] == "/Groups"
    assert by_id["Group"]["meta"]["location"] == (
        f"{scim.organization.scim_base_url}/ResourceTypes/Group"
    )


def test_single_resource_type(scim):
    assert scim.get("/ResourceTypes/User").json()["schema"] == USER
    assert scim.get("/ResourceTypes/Device").status_code == 404


def test_service_provider_config_states_what_is_supported(scim, settings):
    settings.SCIM_MAX_PAGE_SIZE = 75

    body = scim.get("/ServiceProviderConfig").json()

    assert body["schemas"] == [SERVICE_PROVIDER_CONFIG]
    assert body["patch"] == {"supported": True}
    assert body["filter"] == {"supported": True, "maxResults": 75}
    assert body["bulk"]["supported"] is False
    assert body["authenticationSchemes"][0]["type"] == "oauthbearertoken"
    assert body["meta"]["location"] == f"{scim.organization.scim_base_url}/ServiceProviderConfig"


@pytest.mark.parametrize("path", ["/Bulk", "/Me"])
def test_unsupported_endpoints_answer_501_with_scim_error(scim, path):
    response = scim.get(path)

    assert response.status_code == 501
    assert response.json()["status"] == "501"


def test_discovery_locations_use_each_organizations_own_tenant_url(scim, other_scim):
    mine = scim.get("/ServiceProviderConfig").json()["meta"]["location"]
    theirs = other_scim.get("/ServiceProviderConfig").json()["meta"]["location"]

    assert str(scim.organization.public_id) in mine
    assert str(other_scim.organization.public_id) in theirs


def test_discovery_needs_the_organizations_own_token(scim, other_scim):
    intruder = ScimClient.in_process(scim.organization, other_scim.token)

    assert intruder.get("/Schemas").status_code == 401


def test_mistyped_tenant_url_gets_a_scim_404_from_the_fallback_routes(scim, settings):
    # kno2prov.urls is another module's; mount the fallback here exactly as it would be.
    settings.ROOT_URLCONF = "tests.scim.fallback_urlconf"

    for path in ("/scim/v2/not-a-uuid/Users", "/scim/v2/Users", "/scim/v2/"):
        response = scim.client.get(path)
        assert response.status_code == 404, path
        assert response["Content-Type"] == SCIM_JSON
        assert response.json()["status"] == "404"
    assert scim.get("/Users").status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("DELETE", "/Users", "GET, HEAD, POST"),
        ("POST", "/ServiceProviderConfig", "GET, HEAD"),
    ],
)
def test_method_not_allowed_lists_the_allowed_methods(scim, method, path, allowed):
    response = scim.send(method, path)
    assert response.status_code == 405
    assert response["Allow"] == allowed


def test_schemas_declare_every_attribute_entras_default_mapping_targets(scim):
    # Microsoft's Schema_Discoverability_Test flattening (tests/e2e/azure.py).
    body = scim.get("/Schemas").json()
    users = validator_lookup(body, USER, ENTERPRISE)
    groups = validator_lookup(body, GROUP)
    assert validator_missing(users, ENTRA_DEFAULT_USER_TARGETS) == []
    assert validator_missing(groups, ENTRA_DEFAULT_GROUP_TARGETS) == []
