"""SCIM resource documents: validate request bodies, and convert rows to documents and back.

Nothing here touches the database. A resource is handled as a plain dict shaped like its SCIM
representation, extension attributes under their schema URN (RFC 7643 §3.3). The adapters turn
rows into such dicts and back; ``scim.patch`` applies PATCH operations to them; ``scim.services``
saves them.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from django_scim import schemas as bundled_schemas

from .errors import InvalidPath, InvalidSyntax, InvalidValue, Mutability, attribute_detail
from .models import IDENTITY_KEY_MAX_BYTES, identity_key

CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
CORE_GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE_USER = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"

MAX_STRING_LENGTH = 255
# Attributes a client may send but never sets: RFC 7643 §3.1 (id, meta are readOnly),
# §4.1.2 (groups is readOnly), and ``schemas``, which the service derives. ``password`` is
# writeOnly and this service keeps no passwords, so it is dropped, never stored or echoed.
IGNORED_ON_WRITE = {"id", "meta", "schemas", "groups", "password"}
ENTERPRISE_ATTRIBUTES = {
    "employeenumber",
    "costcenter",
    "organization",
    "division",
    "department",
    "manager",
}
# Multi-valued attributes whose elements are meaningless without a ``value``.
VALUE_REQUIRED = {
    "emails",
    "phonenumbers",
    "ims",
    "photos",
    "entitlements",
    "roles",
    "x509certificates",
}
BOOLEAN_ATTRIBUTES = {"active", "primary"}


def _attribute_names() -> tuple[dict[str, str], set[str]]:
    """Canonical spelling of every attribute the bundled schemas define, and the multi-valued
    ones. Attribute names are case-insensitive (RFC 7643 §2.1), so lookups go through these."""
    names: dict[str, str] = {"externalid": "externalId", "$ref": "$ref"}
    multi: set[str] = set()

    def walk(attributes: Iterable[dict]) -> None:
        for attribute in attributes:
            names.setdefault(attribute["name"].lower(), attribute["name"])
            if attribute.get("multiValued"):
                multi.add(attribute["name"].lower())
            walk(attribute.get("subAttributes", []))

    for schema in bundled_schemas.ALL:
        if schema["id"] in {CORE_USER, CORE_GROUP, ENTERPRISE_USER}:
            walk(schema["attributes"])
    return names, multi


CANONICAL, MULTI_VALUED = _attribute_names()


def resource_schema(schema_id: str) -> dict:
    """The RFC 7643 §8.7 schema of ``schema_id``, as this service applies and serves it.

    The §8.7.1 listing omits ``addresses.primary``, which §4.1.2 defines and Azure sends.
    """
    schema = copy.deepcopy(next(s for s in bundled_schemas.ALL if s["id"] == schema_id))
    for attribute in schema["attributes"]:
        subs = attribute.get("subAttributes", [])
        if attribute["name"] == "addresses" and not any(s["name"] == "primary" for s in subs):
            subs.append(
                {
                    "name": "primary",
                    "type": "boolean",
                    "multiValued": False,
                    "description": "Whether this is the primary mailing address.",
                    "required": False,
                    "mutability": "readWrite",
                    "returned": "default",
                }
            )
    return schema


def _definitions(schema_id: str) -> dict[str, dict]:
    schema = resource_schema(schema_id)
    return {attribute["name"].lower(): attribute for attribute in schema["attributes"]}


DEFINITIONS = {
    None: _definitions(CORE_USER),
    ENTERPRISE_USER: _definitions(ENTERPRISE_USER),
}
_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "reference": (str,),
    "binary": (str,),
    "datetime": (str,),
    "boolean": (bool,),
    "integer": (int,),
    "decimal": (int, float),
    "complex": (dict,),
}
KNOWN_SCHEMAS = {
    CORE_USER.lower(): CORE_USER,
    CORE_GROUP.lower(): CORE_GROUP,
    ENTERPRISE_USER.lower(): ENTERPRISE_USER,
}
# Top-level attributes of the closed core schemas (RFC 7643 §3.1 common attributes included).
CORE_ATTRIBUTES = {
    CORE_USER: {*DEFINITIONS[None], "externalid", *IGNORED_ON_WRITE},
    CORE_GROUP: {"displayname", "externalid", "members", *IGNORED_ON_WRITE},
}

# Bounds on extension attributes (``urn:…:extension:…``, other than the enterprise one, whose
# schema is closed). Azure sends one value per custom mapping: Entra directory extensions hold
# at most 256 characters and onPremisesExtensionAttributes 1,024 (4 KiB in UTF-8 at worst),
# and an application has at most 100 directory extensions. A whole Azure user is 1-2 KB.
MAX_EXTENSION_ATTRIBUTES = 100  # per resource, across every extension schema
MAX_EXTENSION_VALUE_BYTES = 4096  # one attribute's value, as UTF-8 JSON
MAX_RESOURCE_BYTES = 65536  # the whole stored resource, as UTF-8 JSON
MAX_EXTENSION_URN_LENGTH = 200
# RFC 7643 §2.1 ATTRNAME, at most 100 characters.
_ATTRNAME = re.compile(r"[A-Za-z][\w$-]{0,99}")


MAX_DEPTH = 16


def check_storable(value: object, depth: int = 0) -> None:
    """Refuse JSON that parses but cannot be stored: NUL characters and lone surrogates
    (PostgreSQL rejects both in text and jsonb) and absurd nesting."""
    if depth > MAX_DEPTH:
        raise InvalidValue(f"the body is nested more than {MAX_DEPTH} levels deep")
    if isinstance(value, str):
        if "\x00" in value:
            raise InvalidValue("strings must not contain NUL characters")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise InvalidValue("strings must be valid Unicode") from exc
    elif isinstance(value, dict):
        for key, item in value.items():
            check_storable(key, depth + 1)
            check_storable(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            check_storable(item, depth + 1)


def is_schema_urn(key: str) -> bool:
    """Whether ``key`` names a whole schema (an extension container), not one attribute.

    Known schemas are recognised exactly; a custom extension URN (Azure's
    ``urn:ietf:params:scim:schemas:extension:<Name>:2.0:User``) by its ``:User``/``:Group`` end.
    """
    lowered = key.lower()
    return lowered in KNOWN_SCHEMAS or (
        lowered.startswith("urn:") and lowered.rsplit(":", 1)[-1] in {"user", "group"}
    )


def canonical_urn(urn: str) -> str:
    return KNOWN_SCHEMAS.get(urn.lower(), urn)


def is_custom_extension(urn: str) -> bool:
    """Whether ``urn`` names an extension schema other than the enterprise one: an
    ``urn:…:extension:…`` URN (RFC 7643 §3.3), such as Azure's custom attribute mappings use."""
    lowered = urn.lower()
    return (
        lowered.startswith("urn:")
        and ":extension:" in lowered
        and lowered != ENTERPRISE_USER.lower()
        and len(urn) <= MAX_EXTENSION_URN_LENGTH
    )


def undeclared(name: str, core_schema: str, *, patch: bool = False) -> InvalidPath | InvalidSyntax:
    """The error for an attribute the closed core or enterprise schema does not define.

    A body is refused with ``invalidSyntax`` ("did not conform to the request schema", RFC 7644
    §3.12) and a PATCH path with ``invalidPath``.
    """
    kind = "User" if core_schema == CORE_USER else "Group"
    detail = (
        f"{attribute_detail(name)} is not defined by the {kind} schema. Send custom attributes "
        f"under an extension schema, e.g. urn:ietf:params:scim:schemas:extension:kno2:2.0:"
        f"{kind}:{name.rsplit(':', 1)[-1].split('.')[-1]}"
    )
    return InvalidPath(detail) if patch else InvalidSyntax(detail)


def check_declared_path(core_schema: str, urn: str | None, attr: str, sub: str | None) -> None:
    """Refuse a PATCH path into the closed schemas that names no defined attribute."""
    label = attr if urn is None else f"{urn}:{attr}"
    if urn is not None and is_custom_extension(urn):
        if not _ATTRNAME.fullmatch(attr):
            raise InvalidPath(f"{attribute_detail(label)} is not a valid attribute name")
        return
    if urn is None and core_schema == CORE_GROUP:
        if attr.lower() not in CORE_ATTRIBUTES[CORE_GROUP] or sub is not None:
            raise undeclared(label if sub is None else f"{label}.{sub}", core_schema, patch=True)
        return
    definitions = DEFINITIONS.get(urn) if core_schema == CORE_USER else None
    if definitions is None:
        raise InvalidPath(f"{attribute_detail(label)} is in no schema of this resource type")
    definition = definitions.get(attr.lower())
    if definition is None:
        if urn is None and attr.lower() == "externalid" and sub is None:
            return
        raise undeclared(label, core_schema, patch=True)
    if sub is not None:
        subs = {s["name"].lower() for s in definition.get("subAttributes", [])}
        if sub.lower() not in subs:
            raise undeclared(f"{label}.{sub}", core_schema, patch=True)


def timestamp(moment: datetime) -> str:
    """RFC 7643 §2.3.5 dateTime in UTC, always with microseconds so values sort as text."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def meta(resource_type: str, obj: Any, location: str) -> dict:
    """A resource's ``meta`` (RFC 7643 §3.1), all of it read-only."""
    return {
        "resourceType": resource_type,
        "created": timestamp(obj.created_at),
        "lastModified": timestamp(obj.updated_at),
        "location": location,
        "version": obj.etag,
    }


def key_in(container: dict, name: str) -> str:
    """The key under which ``name`` lives in ``container``, matched case-insensitively, or its
    canonical spelling when absent (RFC 7643 §2.1: attribute names are case-insensitive)."""
    lowered = name.lower()
    for key in container:
        if key.lower() == lowered:
            return key
    return CANONICAL.get(lowered, name)


def coerce_boolean(attr: str, value: object) -> object:
    """Azure's legacy dialect sends booleans as ``"True"``/``"False"`` (docs/azure-scim-client.md
    §3.1)."""
    if attr.lower() in BOOLEAN_ATTRIBUTES and isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in {"true", "false"}:
            return lowered == "true"
    return value


def is_blank(value: object) -> bool:
    return value is None or value == "" or value == [] or value == {}


def set_manager(container: dict, value: object) -> None:
    """Store ``manager`` as ``{"value": id, ...}`` from any shape Azure sends
    (docs/azure-scim-client.md §3.1)."""
    key = key_in(container, "manager")
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, str):
        value = {"value": value}
    if isinstance(value, dict):
        value = {k: v for k, v in value.items() if v is not None}
        manager_id = value.get(key_in(value, "value"))
        if is_blank(manager_id):
            value = None
        elif not isinstance(manager_id, str):
            raise InvalidValue("manager value must be a string id")
    elif value is not None:
        raise InvalidValue("manager must be an id string or an object with a value")
    if value is None:
        container.pop(key, None)
    else:
        container[key] = value


def is_hollow(attr: str, item: object) -> bool:
    if not isinstance(item, dict):
        return False
    if attr.lower() in VALUE_REQUIRED:
        return is_blank(item.get(key_in(item, "value")))
    return not any(k.lower() not in {"type", "primary"} for k in item)


# --- whole documents -------------------------------------------------------------------------


def _drop_nulls(value: object) -> object:
    """RFC 7643 §2.5: null means unassigned. Azure's walkthrough POST sends ``"title": null``."""
    if isinstance(value, dict):
        return {k: _drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_nulls(v) for v in value if v is not None]
    return value


def _writable(raw: object, what: str) -> dict:
    """The attributes of a body a client may write: nulls dropped, read-only ones ignored."""
    if not isinstance(raw, dict):
        raise InvalidSyntax(f"{what} must be a JSON object")
    return {
        key: _drop_nulls(value)
        for key, value in raw.items()
        if value is not None and key.lower() not in IGNORED_ON_WRITE
    }


def check_put_id(body: object, scim_id: object) -> None:
    """A PUT may carry the resource's own ``id`` (Okta's always does); a different one is
    ``mutability`` (RFC 7644 §3.5.1), never silently ignored. ``groups`` and ``meta`` stay
    ignored: Okta sends ``"groups": []`` whatever the user's memberships are."""
    if not isinstance(body, dict):
        return
    key = key_in(body, "id")
    if key not in body:
        return
    value = body[key]
    if not isinstance(value, str) or value.strip().lower() != str(scim_id).lower():
        raise Mutability("id is read-only")


def _string(document: dict, attr: str, *, required: bool = False) -> str | None:
    key = key_in(document, attr)
    value = document.get(key)
    if value is None and required:
        raise InvalidValue(f"{attr} is required")
    if value is None or (value == "" and not required):
        document.pop(key, None)
        return None
    if not isinstance(value, str):
        raise InvalidValue(f"{attr} must be a string")
    if required and not value.strip():
        raise InvalidValue(f"{attr} must not be empty")
    if len(value) > MAX_STRING_LENGTH:
        raise InvalidValue(f"{attr} is longer than {MAX_STRING_LENGTH} characters")
    if key != attr:
        document[attr] = document.pop(key)
    return value


def _check_identity(name: str, attr: str) -> None:
    """A name whose identity key would not fit its indexed column is refused, not a 500."""
    if len(identity_key(name).encode("utf-8")) > IDENTITY_KEY_MAX_BYTES:
        raise InvalidValue(
            f"{attr} is too long once normalised (more than {IDENTITY_KEY_MAX_BYTES} bytes)"
        )


def clean_user(raw: object, *, default_active: bool | None = True) -> dict:
    """A validated user document from a POST/PUT body or a patched document.

    Read-only and write-only attributes are dropped (RFC 7644 §3.3, §3.5.1). The core User and
    enterprise schemas are closed: an attribute they do not define is refused, naming it.
    Attributes under any other ``urn:…:extension:…`` schema are kept as sent, within the
    ``MAX_EXTENSION_*`` and ``MAX_RESOURCE_BYTES`` bounds. Defined attributes must have their
    schema's type. ``default_active`` is what a missing ``active`` becomes: true on create and
    replace, and unassigned after a PATCH removed it.
    """
    document = _writable(raw, "a User")
    _gather_extensions(document, CORE_USER)
    _check_identity(_string(document, "userName", required=True) or "", "userName")
    _string(document, "externalId")
    _string(document, "displayName")
    active_key = key_in(document, "active")
    active = coerce_boolean("active", document.pop(active_key, default_active))
    if active is not None and not isinstance(active, bool):
        raise InvalidValue('active must be a boolean (true/false or "True"/"False")')
    if active is not None:
        document["active"] = active
    name = document.get(key_in(document, "name"))
    if name is not None and not isinstance(name, dict):
        raise InvalidValue("name must be an object")
    for key in list(document):
        value = document[key]
        lowered = key.lower()
        if lowered in MULTI_VALUED:
            if not isinstance(value, list):
                raise InvalidValue(f"{key} must be an array")
            value[:] = [item for item in value if not is_hollow(lowered, item)]
            for item in value:
                if not isinstance(item, dict):
                    raise InvalidValue(f"each element of {key} must be an object")
                for flag in [k for k in item if k.lower() == "primary"]:
                    item[flag] = coerce_boolean("primary", item[flag])
            if not value:
                document.pop(key)
        elif lowered == ENTERPRISE_USER.lower():
            manager_key = key_in(value, "manager")
            if manager_key in value:
                set_manager(value, value[manager_key])
            if not value:
                document.pop(key)
    _move_enterprise_attributes(document)
    if ENTERPRISE_USER in document:
        document[ENTERPRISE_USER] = _typed(
            DEFINITIONS[ENTERPRISE_USER],
            document[ENTERPRISE_USER],
            f"{ENTERPRISE_USER}:",
            CORE_USER,
        )
    result = _typed(DEFINITIONS[None], document, "", CORE_USER)
    _check_size(result, "User")
    return result


def _gather_extensions(document: dict, core_schema: str) -> None:
    """Sort a body's top-level keys for the closed schemas (RFC 7643 §3.3).

    A key qualified with the core schema URN names the core attribute; a key that is an
    attribute of an extension (``urn:…:extension:kno2:2.0:User:npi``) goes into that
    extension's object, as a PATCH path would put it; an extension's own URN holds an object of
    its attributes; anything else the core schema does not define is refused, naming it.
    Custom extensions are then checked against the ``MAX_EXTENSION_*`` bounds.
    """
    core = CORE_ATTRIBUTES[core_schema]
    for key in list(document):
        lowered = key.lower()
        if lowered in core:
            continue
        if core_schema == CORE_USER and lowered in ENTERPRISE_ATTRIBUTES:
            continue  # Azure's walkthrough sends them bare; _move_enterprise_attributes
        if lowered.startswith(core_schema.lower() + ":"):
            name = key[len(core_schema) + 1 :]
            if name.lower() not in core:
                raise undeclared(name, core_schema)
            document[name] = document.pop(key)
            continue
        if (
            lowered.startswith("urn:")
            and (
                is_custom_extension(key)
                or (core_schema == CORE_USER and lowered == ENTERPRISE_USER.lower())
            )
            and is_schema_urn(key)
        ):
            if not isinstance(document[key], dict):
                raise InvalidValue(f"{key} must be an object of extension attributes")
            canonical = canonical_urn(key)
            if canonical != key:
                document[canonical] = {**document.pop(key), **document.get(canonical, {})}
            continue
        if lowered.startswith("urn:") and ":" in key:
            urn, name = key.rsplit(":", 1)
            if is_custom_extension(urn) or (
                core_schema == CORE_USER and urn.lower() == ENTERPRISE_USER.lower()
            ):
                container_key = key_in(document, canonical_urn(urn))
                container = document.setdefault(container_key, {})
                if not isinstance(container, dict):
                    raise InvalidValue(f"{urn} must be an object of extension attributes")
                container[name] = document.pop(key)
                continue
        raise undeclared(key, core_schema)
    for key in [k for k in document if k.lower().startswith("urn:")]:
        # "schemas" inside an extension object (as scim2-models writes it) is derived too.
        document[key].pop(key_in(document[key], "schemas"), None)
    count = 0
    for key in [k for k in document if is_custom_extension(k)]:
        extension = document[key]
        for name, value in list(extension.items()):
            label = f"{key}:{name}"
            if not _ATTRNAME.fullmatch(name):
                raise InvalidValue(f"{attribute_detail(label)} is not a valid attribute name")
            size = _json_bytes(value)
            if size > MAX_EXTENSION_VALUE_BYTES:
                raise InvalidValue(
                    f"{attribute_detail(label)} is {size} bytes; an extension attribute holds "
                    f"at most {MAX_EXTENSION_VALUE_BYTES}"
                )
        count += len(extension)
        if not extension:
            document.pop(key)
    if count > MAX_EXTENSION_ATTRIBUTES:
        raise InvalidValue(
            f"{count} extension attributes; a resource holds at most {MAX_EXTENSION_ATTRIBUTES}"
        )


def _json_bytes(value: object) -> int:
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))


def _check_size(document: dict, kind: str) -> None:
    size = _json_bytes(document)
    if size > MAX_RESOURCE_BYTES:
        raise InvalidValue(
            f"the {kind} is {size} bytes as JSON; a resource holds at most {MAX_RESOURCE_BYTES}"
        )


def extension_attributes(document: dict) -> list[tuple[str, str, object]]:
    """``(schema URN, attribute name, value)`` of each custom extension attribute."""
    return [
        (key, name, value)
        for key, extension in document.items()
        if is_custom_extension(key) and isinstance(extension, dict)
        for name, value in extension.items()
    ]


def declared_only(document: dict, core_schema: str) -> dict:
    """``document`` without top-level attributes the closed schemas refuse.

    Rows written before the schemas were closed may hold such attributes; a PATCH starts from
    this, so it drops them (the change shows in the history) instead of failing for ever.
    """
    core = CORE_ATTRIBUTES[core_schema]
    return {
        key: value
        for key, value in document.items()
        if key.lower() in core
        or is_custom_extension(key)
        or (core_schema == CORE_USER and key == ENTERPRISE_USER)
    }


def _typed(definitions: dict[str, dict], container: dict, prefix: str, core_schema: str) -> dict:
    """``container`` with every schema-defined attribute type-checked and spelled as its
    schema spells it (RFC 7643 §2.1: names are case-insensitive; clients read them back in
    canonical case). Only extension objects, already checked, pass without a definition."""
    result = {}
    for key, value in container.items():
        definition = definitions.get(key.lower())
        if definition is None:
            if not prefix and (key.lower() == "externalid" or key.startswith("urn:")):
                result[key] = value
                continue
            raise undeclared(f"{prefix}{key}", core_schema)
        _check_type(definition, value, f"{prefix}{key}", core_schema)
        result[definition["name"]] = _canonical(definition, value)
    return result


def _canonical(definition: dict, value: object) -> object:
    if isinstance(value, list):
        return [_canonical(definition, item) for item in value]
    if not isinstance(value, dict):
        return value
    subs = {sub["name"].lower(): sub["name"] for sub in definition.get("subAttributes", [])}
    return {subs.get(key.lower(), key): item for key, item in value.items()}


def _move_enterprise_attributes(document: dict) -> None:
    """Enterprise attributes sent without their URN (Azure's walkthrough sends a top-level
    ``manager``, docs/azure-scim-client.md §2.5) go into the extension, as a PATCH path would put
    them."""
    for key in [k for k in document if k.lower() in ENTERPRISE_ATTRIBUTES]:
        extension = document.setdefault(ENTERPRISE_USER, {})
        if not isinstance(extension, dict):
            raise InvalidValue(f"{ENTERPRISE_USER} must be an object of extension attributes")
        value = document.pop(key)
        if key.lower() == "manager":
            set_manager(extension, value)
        else:
            extension[key_in(extension, key)] = value
        if not extension:
            document.pop(ENTERPRISE_USER)


def _check_type(definition: dict, value: object, label: str, core_schema: str) -> None:
    """``value`` has the type and plurality its schema attribute says (RFC 7643 §2.3, §7)."""
    if definition.get("multiValued"):
        if not isinstance(value, list):
            raise InvalidValue(f"{label} must be an array")
        for item in value:
            _check_single(definition, item, label, core_schema)
    else:
        _check_single(definition, value, label, core_schema)


def _check_single(definition: dict, value: object, label: str, core_schema: str) -> None:
    expected = _TYPES.get(definition["type"].lower(), (object,))
    if not isinstance(value, expected) or (bool not in expected and isinstance(value, bool)):
        raise InvalidValue(f"{label} must be of type {definition['type']}")
    if isinstance(value, dict):
        subs = {sub["name"].lower(): sub for sub in definition.get("subAttributes", [])}
        for key, item in value.items():
            sub = subs.get(key.lower())
            if sub is None:
                raise undeclared(f"{label}.{key}", core_schema)
            _check_single(sub, item, f"{label}.{key}", core_schema)


def clean_group(raw: object) -> dict:
    """A validated group document; ``members`` becomes a list of member ids.

    The core Group schema is closed as the User one is (see ``clean_user``); extension
    attributes are kept within the same bounds. ``members`` does not count toward the size
    bound: it is stored as membership rows, bounded by the request body limit.
    """
    document = _writable(raw, "a Group")
    _gather_extensions(document, CORE_GROUP)
    _check_identity(_string(document, "displayName", required=True) or "", "displayName")
    _string(document, "externalId")
    members_key = key_in(document, "members")
    members = document.pop(members_key, [])
    _check_size(document, "Group")
    document["members"] = member_ids(members)
    return document


def member_ids(members: object) -> list[str]:
    """The member ids of a ``members`` value: ``[{"value": id, "$ref": null}, …]``."""
    if isinstance(members, dict):
        members = [members]
    if not isinstance(members, list):
        raise InvalidValue('members must be an array of {"value": id} objects')
    ids = []
    for member in members:
        member_id = member.get(key_in(member, "value")) if isinstance(member, dict) else None
        if not isinstance(member_id, str) or not member_id:
            raise InvalidValue("each member must be an object with a string value (a user id)")
        ids.append(member_id)
    return ids


def work_email(document: dict) -> str | None:
    """The work email Azure maps (``emails[type eq "work"].value``), else the primary one."""
    emails = document.get(key_in(document, "emails")) or []
    candidates = [e for e in emails if isinstance(e, dict)]
    for predicate in (
        lambda e: str(e.get(key_in(e, "type"), "")).lower() == "work",
        lambda e: e.get(key_in(e, "primary")) is True,
        lambda e: True,
    ):
        for email in candidates:
            value = email.get(key_in(email, "value"))
            if predicate(email) and isinstance(value, str) and value:
                return value[:320]
    return None


def name_part(document: dict, part: str) -> str | None:
    name = document.get(key_in(document, "name"))
    if not isinstance(name, dict):
        return None
    value = name.get(key_in(name, part))
    return value[:MAX_STRING_LENGTH] if isinstance(value, str) else None


# --- rows <-> documents ----------------------------------------------------------------------
# The adapters add ``id``, ``schemas`` and ``meta``; these carry only client-writable data.


def json_copy(value: Any) -> Any:
    """A deep copy of JSON-shaped ``value`` (dicts, lists and scalars, as a ``JSONField``
    holds): what ``copy.deepcopy`` makes of it, without the memo and dispatch that make
    ``deepcopy`` cost a user create more than its document does."""
    if isinstance(value, dict):
        return {key: json_copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [json_copy(item) for item in value]
    return value


def user_document(user: Any) -> dict:
    """The writable attributes of a ``ScimUser`` as a SCIM document."""
    document: dict[str, Any] = {"userName": user.user_name}
    if user.external_id is not None:
        document["externalId"] = user.external_id
    if user.display_name is not None:
        document["displayName"] = user.display_name
    if user.active is not None:
        document["active"] = user.active
    document.update(json_copy(user.attributes))
    return document


def user_fields(document: dict) -> dict:
    """``ScimUser`` field values for a document cleaned by ``clean_user``."""
    core = {"username", "externalid", "displayname", "active"}
    return {
        "user_name": document[key_in(document, "userName")],
        "external_id": document.get(key_in(document, "externalId")),
        "display_name": document.get(key_in(document, "displayName")),
        "active": document.get(key_in(document, "active")),
        "given_name": name_part(document, "givenName"),
        "family_name": name_part(document, "familyName"),
        "work_email": work_email(document),
        "attributes": {k: v for k, v in document.items() if k.lower() not in core},
    }


def group_document(group: Any) -> dict:
    """The writable attributes of a ``ScimGroup`` except ``members``."""
    document: dict[str, Any] = {"displayName": group.display_name}
    if group.external_id is not None:
        document["externalId"] = group.external_id
    document.update(json_copy(group.attributes))
    return document


def group_fields(document: dict) -> dict:
    """``ScimGroup`` field values for a document cleaned by ``clean_group``."""
    core = {"displayname", "externalid", "members"}
    return {
        "display_name": document[key_in(document, "displayName")],
        "external_id": document.get(key_in(document, "externalId")),
        "attributes": {k: v for k, v in document.items() if k.lower() not in core},
    }


def changes_between(before: dict, after: dict) -> list[dict]:
    """``{"attribute", "old", "new"}`` for each attribute that differs, one level into objects
    (``name.givenName``, ``<extension URN>:department``). Never includes a password."""
    changes: list[dict] = []

    def walk(old: dict, new: dict, prefix: str, separator: str) -> None:
        for key in sorted(set(old) | set(new), key=str.lower):
            if "password" in key.lower():
                continue
            a, b = old.get(key), new.get(key)
            if a == b:
                continue
            label = f"{prefix}{separator}{key}" if prefix else key
            if not prefix and isinstance(a, dict | None) and isinstance(b, dict | None):
                walk(a or {}, b or {}, key, ":" if key.lower().startswith("urn:") else ".")
            else:
                changes.append({"attribute": label, "old": a, "new": b})

    walk(before, after, "", "")
    return changes
