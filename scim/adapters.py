"""django-scim2 adapters: translate rows to SCIM resources and SCIM bodies to service calls.

They stay thin (house style §2): validation and PATCH handling live in ``scim.documents``,
writes in ``scim.services``. What they change from django-scim2's defaults, and why:

* locations come from the organization's tenant URL (``scim.scoping.base_location``), not
  ``reverse()``, which cannot rebuild our per-tenant URL prefix;
* a user without email has no ``emails`` attribute, not ``[{"value": ""}]``;
* ``members`` and ``groups`` are read with one query for a whole page of resources, handed in
  by the view, and not at all when the client excluded them (RFC 7644 §3.4.2.5);
* ``meta`` carries created, lastModified, location and version (RFC 7643 §3.1).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django_scim.adapters import SCIMGroup, SCIMUser
from django_scim.models import SCIMServiceProviderConfig
from django_scim.settings import scim_settings

from core.fixedselect import FixedSelect

from . import documents, services
from .filters import GROUP_ATTRS, USER_ATTRS
from .models import GroupMembership, ScimGroup, ScimUser
from .scoping import base_location

SERVICE_PROVIDER_CONFIG = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
RESOURCE_TYPE = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"


class ScimUserAdapter(SCIMUser):
    """A ``ScimUser`` as a SCIM User (RFC 7643 §4.1) with the enterprise extension (§4.3)."""

    id_field = "scim_id"
    resource_type = "User"
    ATTR_MAP = USER_ATTRS

    def __init__(
        self, obj: ScimUser, request: HttpRequest | None = None, groups: list[dict] | None = None
    ) -> None:
        super().__init__(obj, request)
        self.groups_value = groups

    @property
    def location(self) -> str:
        return f"{base_location(self.request)}/Users/{self.id}"

    @property
    def display_name(self) -> str:
        return self.obj.display_name or self.obj.user_name

    def to_dict(self) -> dict:
        document = documents.user_document(self.obj)
        extensions = [
            key
            for key, value in document.items()
            if key.lower().startswith("urn:") and isinstance(value, dict)
        ]
        result: dict[str, Any] = {
            "schemas": [documents.CORE_USER, *extensions],
            "id": self.id,
            **document,
        }
        if self.groups_value:
            result["groups"] = self.groups_value
        result["meta"] = documents.meta(self.resource_type, self.obj, self.location)
        return result

    def from_dict(self, d: dict) -> None:
        """Validate a POST/PUT body; the document is kept for ``save``."""
        self.document = documents.clean_user(d)

    def save(self) -> services.Outcome:
        """PUT: make the saved user match the document. A create does not come here: the view
        calls ``services.create_user`` with the organization, and no unsaved user to carry it."""
        return services.replace_user(self.obj, self.document)

    def handle_operations(self, operations: list[dict]) -> services.Outcome:
        return services.patch_user(self.obj, operations)

    def delete(self) -> None:
        services.delete_user(self.obj)

    @classmethod
    def resource_type_dict(cls, request: HttpRequest | None = None) -> dict:
        """RFC 7643 §6: the User resource type, with the enterprise extension optional."""
        base = base_location(request)
        return {
            "schemas": [RESOURCE_TYPE],
            "id": "User",
            "name": "User",
            "endpoint": "/Users",
            "description": "User Account",
            "schema": documents.CORE_USER,
            "schemaExtensions": [{"schema": documents.ENTERPRISE_USER, "required": False}],
            "meta": {"resourceType": "ResourceType", "location": f"{base}/ResourceTypes/User"},
        }


class ScimGroupAdapter(SCIMGroup):
    """A ``ScimGroup`` as a SCIM Group (RFC 7643 §4.2)."""

    id_field = "scim_id"
    resource_type = "Group"
    ATTR_MAP = GROUP_ATTRS

    def __init__(
        self, obj: ScimGroup, request: HttpRequest | None = None, members: list[dict] | None = None
    ) -> None:
        super().__init__(obj, request)
        self.members_value = members

    @property
    def location(self) -> str:
        return f"{base_location(self.request)}/Groups/{self.id}"

    @property
    def display_name(self) -> str:
        return self.obj.display_name

    def to_dict(self) -> dict:
        result: dict[str, Any] = {
            "schemas": [documents.CORE_GROUP],
            "id": self.id,
            **documents.group_document(self.obj),
        }
        if self.members_value is not None:
            result["members"] = self.members_value
        result["meta"] = documents.meta(self.resource_type, self.obj, self.location)
        return result

    def from_dict(self, d: dict) -> None:
        """Validate a POST/PUT body; the document is kept for ``save``."""
        self.document = documents.clean_group(d)

    def save(self) -> services.Outcome:
        if self.obj.pk is None:
            self.obj, outcome = services.create_group(self.obj.organization, self.document)
            return outcome
        return services.replace_group(self.obj, self.document)

    def handle_operations(self, operations: list[dict]) -> services.Outcome:
        return services.patch_group(self.obj, operations)

    def delete(self) -> None:
        services.delete_group(self.obj)

    @classmethod
    def resource_type_dict(cls, request: HttpRequest | None = None) -> dict:
        base = base_location(request)
        return {
            "schemas": [RESOURCE_TYPE],
            "id": "Group",
            "name": "Group",
            "endpoint": "/Groups",
            "description": "Group",
            "schema": documents.CORE_GROUP,
            "meta": {"resourceType": "ResourceType", "location": f"{base}/ResourceTypes/Group"},
        }


def members_by_group(groups: Iterable[ScimGroup], base: str) -> dict[int, list[dict]]:
    """``members`` of every group in ``groups``, read with one query whatever their size."""
    by_group: dict[int, list[dict]] = {group.pk: [] for group in groups}
    if not by_group:
        return by_group
    rows = (
        GroupMembership.objects.filter(group_id__in=list(by_group))
        .order_by("group_id", "user_id")
        .values_list("group_id", "user__scim_id")
    )
    # RFC 7643 §8.7.1 gives members value, $ref and type; a computed "display" would read back
    # different from what the client wrote.
    for group_id, scim_id in rows:
        by_group[group_id].append(
            {
                "value": str(scim_id),
                "$ref": f"{base}/Users/{scim_id}",
                "type": "User",
            }
        )
    return by_group


# One user's memberships with their groups (``core.fixedselect``): the ``groups`` of every
# user a PATCH answers with. tests/scim/test_user_groups.py holds it to the QuerySet below.
_MEMBERSHIPS_OF_USER = FixedSelect(
    GroupMembership, where="{user} = %s", params=["user"], related=["group"]
)


def groups_by_user(users: Iterable[ScimUser], base: str) -> dict[int, list[dict]]:
    """The read-only ``groups`` of every user in ``users`` (RFC 7643 §4.1.2), one query."""
    by_user: dict[int, list[dict]] = {user.pk: [] for user in users}
    if not by_user:
        return by_user
    if len(by_user) == 1:
        # One user (a GET, PATCH or PUT of /Users/{id}): a statement written once.
        (user_id,) = by_user
        memberships = sorted(_MEMBERSHIPS_OF_USER.all(user_id), key=lambda m: m.group_id)
        rows = [(user_id, m.group.scim_id, m.group.display_name) for m in memberships]
    else:
        rows = (
            GroupMembership.objects.filter(user_id__in=list(by_user))
            .order_by("user_id", "group_id")
            .values_list("user_id", "group__scim_id", "group__display_name")
        )
    for user_id, scim_id, display_name in rows:
        by_user[user_id].append(
            {
                "value": str(scim_id),
                "$ref": f"{base}/Groups/{scim_id}",
                "display": display_name,
                "type": "direct",
            }
        )
    return by_user


class ServiceProviderConfig(SCIMServiceProviderConfig):
    """RFC 7643 §5: what this service provider supports, stated truthfully."""

    @property
    def location(self) -> str:
        return f"{base_location(self.request)}/ServiceProviderConfig"

    def to_dict(self) -> dict:
        config = {
            "schemas": [SERVICE_PROVIDER_CONFIG],
            "documentationUri": scim_settings.DOCUMENTATION_URI,
            "patch": {"supported": True},
            "bulk": {"supported": False, "maxOperations": 0, "maxPayloadSize": 0},
            "filter": {"supported": True, "maxResults": settings.SCIM_MAX_PAGE_SIZE},
            "changePassword": {"supported": False},
            "sort": {"supported": False},
            "etag": {"supported": False},
            "authenticationSchemes": scim_settings.AUTHENTICATION_SCHEMES,
            "meta": self.meta,
        }
        # Azure's discovery rule: no null values (docs/azure-scim-client.md §1.2, /Schemas).
        return {key: value for key, value in config.items() if value is not None}


def _attribute_list(raw: str | None) -> list[str]:
    return [item.strip() for item in (raw or "").split(",") if item.strip()]


def _split(name: str, schemas: list[str]) -> tuple[str | None, list[str]]:
    """``urn:…:User:name.givenName`` → (``urn:…:User`` or None for core, [name, givenName])."""
    urn = None
    if name.lower().startswith("urn:"):
        if documents.is_schema_urn(name):
            return documents.canonical_urn(name), []
        urn, name = name.rsplit(":", 1)
        if urn.lower() == schemas[0].lower():
            urn = None
    return urn, name.split(".")


def project(resource: dict, attributes: str | None, excluded: str | None) -> dict:
    """Apply ``attributes``/``excludedAttributes`` (RFC 7644 §3.4.2.5, §3.9).

    ``id`` and ``schemas`` are "returned: always" and survive either list. Names are matched
    case-insensitively.
    """
    wanted, unwanted = _attribute_list(attributes), _attribute_list(excluded)
    if not wanted and not unwanted:
        return resource
    schemas = resource["schemas"]
    if wanted:
        result: dict[str, Any] = {"schemas": schemas, "id": resource["id"]}
        for name in wanted:
            urn, parts = _split(name, schemas)
            _copy(resource, result, urn, parts)
        return result
    result = json.loads(json.dumps(resource))
    for name in unwanted:
        urn, parts = _split(name, schemas)
        container = result if urn is None else result.get(documents.key_in(result, urn))
        if not isinstance(container, dict) or not parts or parts[0].lower() in {"id", "schemas"}:
            continue
        key = documents.key_in(container, parts[0])
        if len(parts) == 1:
            container.pop(key, None)
        else:
            for item in _as_list(container.get(key)):
                item.pop(documents.key_in(item, parts[1]), None)
    return result


def _as_list(value: object) -> list[dict]:
    if isinstance(value, dict):
        return [value]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, dict)]
    return []


def _copy(source: dict, target: dict, urn: str | None, parts: list[str]) -> None:
    if urn is not None:
        key = documents.key_in(source, urn)
        if not isinstance(source.get(key), dict):
            return
        source, target = source[key], target.setdefault(key, {})
        if not parts:
            target.update(source)
            return
    key = documents.key_in(source, parts[0])
    if key not in source:
        return
    value = source[key]
    if len(parts) == 1:
        target[key] = value
    elif isinstance(value, dict):
        sub = documents.key_in(value, parts[1])
        if sub in value:
            target.setdefault(key, {})[sub] = value[sub]
    elif isinstance(value, list):
        sub_values = [
            {documents.key_in(item, parts[1]): item[documents.key_in(item, parts[1])]}
            for item in value
            if isinstance(item, dict) and documents.key_in(item, parts[1]) in item
        ]
        if sub_values:
            target[key] = sub_values


def wants(attribute: str, attributes: str | None, excluded: str | None) -> bool:
    """Whether the response will show ``attribute`` at all, so a view can skip loading it."""
    lowered = attribute.lower()

    def names(raw: str | None) -> set[str]:
        return {item.rsplit(":", 1)[-1].split(".")[0].lower() for item in _attribute_list(raw)}

    if attributes:
        return lowered in names(attributes)
    return lowered not in names(excluded)
