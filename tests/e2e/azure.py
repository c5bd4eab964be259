"""Microsoft's published SCIM payloads and the checks the Azure AD end-to-end tests share.

Section numbers refer to ``docs/azure-scim-client.md``.
"""

from __future__ import annotations

from tests.schemas import ENTERPRISE, GROUP, PATCH_OP, USER
from tests.scim_client import assert_scim_json, describe

MS_GROUP_SCHEMA = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"

# §2.2.1, verbatim (it is valid JSON as published).
CREATE_USER = {
    "schemas": [USER, ENTERPRISE],
    "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
    "userName": "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee",
    "active": True,
    "emails": [
        {
            "primary": True,
            "type": "work",
            "value": "Test_User_11bb11bb-cc22-dd33-ee44-55ff55ff55ff@testuser.com",
        }
    ],
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
    return {"schemas": [PATCH_OP], "Operations": list(operations)}


def work_emails(user: dict) -> list[str]:
    return [email["value"] for email in user.get("emails", []) if email.get("type") == "work"]


def assert_user_patched(response, user_id: str) -> None:
    """RFC 7644 §3.5.2: 200 with the whole resource (Microsoft G3 allows 204 too; this service
    always answers a user PATCH with the resource)."""
    assert response.status_code == 200, describe(response)
    assert_scim_json(response)
    assert response.json()["id"] == user_id, describe(response)


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


# Microsoft's gallery validator (AzureAD/SCIMReferenceCode,
# Microsoft.SCIM.LogicAppValidationTemplate/StandardLogicApp/SCIMTests_Workflow.json @ 805b036f),
# Schema_Discoverability_Test: how it flattens GET /Schemas into the names it matches.
VALIDATOR_SCHEMA_IDS = (USER, ENTERPRISE, GROUP)


def validator_schema_names(schemas_body: dict, schema_id: str) -> list[str]:
    """The attribute names the validator's flattening yields for ``schema_id``."""
    names: list[str] = []
    for schema in schemas_body.get("Resources") or []:
        if schema.get("id") != schema_id:
            continue
        for attribute in schema.get("attributes") or []:
            name = attribute["name"]
            if schema_id == ENTERPRISE:
                names.append(f"{schema_id}:{name}")
            elif name in {"manager", "members"}:
                names.append(name)
            elif attribute.get("type") == "complex" and attribute.get("multiValued"):
                subs = attribute.get("subAttributes") or []
                types = next((s for s in subs if s["name"] == "type"), {})
                if types.get("canonicalValues"):
                    for value in types["canonicalValues"]:
                        names += [
                            f'{name}[type eq "{value}"].{sub["name"]}'
                            for sub in subs
                            if sub["name"] not in {"type", "primary"}
                        ]
                else:
                    names += [
                        f'{name}[primary eq "True"].{sub["name"]}'
                        for sub in subs
                        if sub["name"] != "primary"
                    ]
            elif attribute.get("type") == "complex":
                names += [
                    f"{name}.{sub['name']}"
                    for sub in attribute.get("subAttributes") or []
                    if sub.get("type") not in {"complex", "reference"}
                ]
            elif attribute.get("type") != "reference":
                names.append(name)
    return names


def validator_lookup(schemas_body: dict, *schema_ids: str) -> str:
    """``toLower('|' + join(names, '|') + '|')``, the string the validator searches."""
    names = [n for schema_id in schema_ids for n in validator_schema_names(schemas_body, schema_id)]
    return ("|" + "|".join(names) + "|").lower()


def validator_missing(lookup: str, target_names: list[str]) -> list[str]:
    """The validator's ``Filter_Missing_*_Attrs``: every target name but ``id`` must appear."""
    return [n for n in target_names if n != "id" and f"|{n}|".lower() not in lookup]


# Entra's default customappsso target attribute names (research18 §1.1; not in the stored
# vendor files: this list is Entra's default attribute mapping of a non-gallery app).
ENTRA_DEFAULT_USER_TARGETS = [
    "userName",
    "active",
    "displayName",
    "title",
    'emails[type eq "work"].value',
    "preferredLanguage",
    "name.givenName",
    "name.familyName",
    "name.formatted",
    'addresses[type eq "work"].formatted',
    'addresses[type eq "work"].streetAddress',
    'addresses[type eq "work"].locality',
    'addresses[type eq "work"].region',
    'addresses[type eq "work"].postalCode',
    'addresses[type eq "work"].country',
    'phoneNumbers[type eq "work"].value',
    'phoneNumbers[type eq "mobile"].value',
    'phoneNumbers[type eq "fax"].value',
    "externalId",
    f"{ENTERPRISE}:employeeNumber",
    f"{ENTERPRISE}:department",
    f"{ENTERPRISE}:manager",
]
ENTRA_DEFAULT_GROUP_TARGETS = ["displayName", "externalId", "members"]
