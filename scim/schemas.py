"""The resource schemas served at ``/Schemas`` (RFC 7643 §7, RFC 7644 §4).

django-scim2 ships the RFC 7643 §8.7 schema documents; the resource schemas among them (User,
Group, EnterpriseUser: the ones Azure's schema discovery reads, docs/azure-scim-client.md §2.4) are
served with ``meta.location`` under the organization's tenant URL.
"""

from __future__ import annotations

import copy

from django_scim import schemas as bundled

from . import documents

SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Schema"
RESOURCE_SCHEMA_IDS = (documents.CORE_USER, documents.CORE_GROUP, documents.ENTERPRISE_USER)


def all_schemas() -> list[dict]:
    """django-scim2 hook ``SCHEMAS_GETTER``: the resource schemas, without locations."""
    by_id = {schema["id"]: schema for schema in bundled.ALL}
    schemas = [copy.deepcopy(by_id[schema_id]) for schema_id in RESOURCE_SCHEMA_IDS]
    for attribute in schemas[1]["attributes"]:
        if attribute["name"] == "displayName":
            # Azure requires unique group names (docs/azure-scim-client.md §1.2); we enforce it, so
            # say so.
            attribute.update(required=True, uniqueness="server")
    return schemas


def resource_schemas(base: str) -> list[dict]:
    """The resource schemas with ``meta.location`` under ``base``, the tenant URL."""
    result = []
    for schema in all_schemas():
        schema["schemas"] = [SCHEMA]
        schema["meta"] = {"resourceType": "Schema", "location": f"{base}/Schemas/{schema['id']}"}
        result.append(schema)
    return result
