"""The resource schemas served at ``/Schemas`` (RFC 7643 §7, RFC 7644 §4).

django-scim2 ships the RFC 7643 §8.7 schema documents; the resource schemas among them (User,
Group, EnterpriseUser: the ones Azure's schema discovery reads, docs/azure-scim-client.md §2.4) are
served with ``meta.location`` under the organization's tenant URL.
"""

from __future__ import annotations

from collections import defaultdict

from organizations.models import Organization

from . import documents
from .models import ExtensionAttribute

SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Schema"
# RFC 7643 §3.1: a common attribute of every resource, which the RFC's own schema documents
# (§8.7.1) leave out. Microsoft's gallery validator (Schema_Discoverability_Test) finds each
# mapped attribute by name among the User and Group schemas' attributes, so it is declared.
EXTERNAL_ID = {
    "name": "externalId",
    "type": "string",
    "multiValued": False,
    "description": "An identifier for the resource as defined by the provisioning client.",
    "required": False,
    "caseExact": True,
    "mutability": "readWrite",
    "returned": "default",
    "uniqueness": "none",
}
RESOURCE_SCHEMA_IDS = (documents.CORE_USER, documents.CORE_GROUP, documents.ENTERPRISE_USER)


def all_schemas() -> list[dict]:
    """django-scim2 hook ``SCHEMAS_GETTER``: the resource schemas, without locations."""
    schemas = [documents.resource_schema(schema_id) for schema_id in RESOURCE_SCHEMA_IDS]
    for attribute in schemas[1]["attributes"]:
        if attribute["name"] == "displayName":
            # Azure requires unique group names (docs/azure-scim-client.md §1.2); we enforce it, so
            # say so.
            attribute.update(required=True, uniqueness="server")
    for schema in schemas[:2]:
        if not any(a["name"].lower() == "externalid" for a in schema["attributes"]):
            schema["attributes"].append(dict(EXTERNAL_ID))
    return schemas


def extension_schemas(organization: Organization) -> list[dict]:
    """One schema per extension URN this organization's Azure has sent attributes under
    (``ExtensionAttribute``), so ``/Schemas`` describes what the organization accepts."""
    by_schema: dict[tuple[str, str], list[ExtensionAttribute]] = defaultdict(list)
    for attribute in ExtensionAttribute.objects.filter(organization=organization):
        by_schema[(attribute.resource_type, attribute.schema)].append(attribute)
    limits = (
        f"at most {documents.MAX_EXTENSION_ATTRIBUTES} extension attributes per resource, "
        f"{documents.MAX_EXTENSION_VALUE_BYTES} bytes per value and "
        f"{documents.MAX_RESOURCE_BYTES} bytes per resource"
    )
    result = []
    for (resource_type, urn), attributes in sorted(by_schema.items()):
        result.append(
            {
                "id": urn,
                "name": urn.rsplit(":", 1)[-1]
                if urn.lower().endswith(resource_type.lower())
                else urn,
                "description": (
                    f"Extension attributes of {resource_type} resources this organization's Azure "
                    f"AD sends. Any urn:…:extension:… attribute is accepted, {limits}."
                ),
                "attributes": [_attribute(attribute) for attribute in attributes],
            }
        )
    return result


def _attribute(attribute: ExtensionAttribute) -> dict:
    definition = {
        "name": attribute.name,
        "type": attribute.value_type,
        "multiValued": attribute.multi_valued,
        "description": f"First sent {attribute.first_seen_at:%Y-%m-%d}.",
        "required": False,
        "caseExact": False,
        "mutability": "readWrite",
        "returned": "default",
        "uniqueness": "none",
    }
    if attribute.value_type == "complex":
        definition["subAttributes"] = []
    return definition


def resource_schemas(base: str, organization: Organization | None = None) -> list[dict]:
    """The resource schemas with ``meta.location`` under ``base``, the tenant URL, and those of
    the extension attributes ``organization`` sends."""
    result = []
    extensions = extension_schemas(organization) if organization is not None else []
    for schema in all_schemas() + extensions:
        schema["schemas"] = [SCHEMA]
        schema["meta"] = {"resourceType": "Schema", "location": f"{base}/Schemas/{schema['id']}"}
        result.append(schema)
    return result
