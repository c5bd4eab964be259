"""SCIM resource documents: validate request bodies, and convert rows to documents and back.

Nothing here touches the database. A resource is handled as a plain dict shaped like its SCIM
representation, extension attributes under their schema URN (RFC 7643 §3.3). The adapters turn
rows into such dicts and back; ``scim.patch`` applies PATCH operations to them; ``scim.services``
saves them.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from django_scim import schemas as bundled_schemas

from .errors import InvalidSyntax, InvalidValue
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
    "employeenumber", "costcenter", "organization", "division", "department", "manager",
}
# Multi-valued attributes whose elements are meaningless without a ``value``.
VALUE_REQUIRED = {
    "emails", "phonenumbers", "ims", "photos", "entitlements", "roles", "x509certificates",
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


def _definitions(schema_id: str) -> dict[str, dict]:
    schema = next(s for s in bundled_schemas.ALL if s["id"] == schema_id)
    return {attribute["name"].lower(): attribute for attribute in schema["attributes"]}


DEFINITIONS = {
    None: _definitions(CORE_USER),
    ENTERPRISE_USER: _definitions(ENTERPRISE_USER),
}
_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,), "reference": (str,), "binary": (str,), "datetime": (str,),
    "boolean": (bool,), "integer": (int,), "decimal": (int, float), "complex": (dict,),
}
KNOWN_SCHEMAS = {CORE_USER.lower(): CORE_USER, CORE_GROUP.lower(): CORE_GROUP,
                 ENTERPRISE_USER.lower(): ENTERPRISE_USER}


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


def key_in(container: dict, name: str) -> str:
    """The key under which ``name`` lives in ``container``, matched case-insensitively, or its
    canonical spelling when absent (RFC 7643 §2.1: attribute names are case-insensitive)."""
    lowered = name.lower()
    for key in container:
        if key.lower() == lowered:
            return key
    return CANONICAL.get(lowered, name)


def coerce_boolean(attr: str, value: object) -> object:
    """Azure's legacy dialect sends booleans as ``"True"``/``"False"`` (reference §3.1)."""
    if attr.lower() in BOOLEAN_ATTRIBUTES and isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in {"true", "false"}:
            return lowered == "true"
    return value


def is_blank(value: object) -> bool:
    return value is None or value == "" or value == [] or value == {}



def set_manager(container: dict, value: object) -> None:
    """Store ``manager`` as ``{"value": id, ...}`` from any shape Azure sends (reference §3.1)."""
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
    return {key: _drop_nulls(value) for key, value in raw.items()
            if value is not None and key.lower() not in IGNORED_ON_WRITE}


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

    Read-only and write-only attributes are dropped (RFC 7644 §3.3, §3.5.1); everything else is
    kept as sent, including attributes this service does not know (custom Azure mappings).
    Attributes the User and EnterpriseUser schemas define must have their schema's type.
    ``default_active`` is what a missing ``active`` becomes: true on create and replace, and
    unassigned after a PATCH removed it.
    """
    document = _writable(raw, "a User")
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
                if isinstance(item, dict):
                    for flag in [k for k in item if k.lower() == "primary"]:
                        item[flag] = coerce_boolean("primary", item[flag])
            if not value:
                document.pop(key)
        elif key.startswith("urn:") or key.lower().startswith("urn:"):
            if not isinstance(value, dict):
                raise InvalidValue(f"{key} must be an object of extension attributes")
            canonical = canonical_urn(key)
            if canonical != key:
                document[canonical] = document.pop(key)
            manager_key = key_in(value, "manager")
            if manager_key in value:
                set_manager(value, value[manager_key])
            if not value:
                document.pop(canonical)
    _move_enterprise_attributes(document)
    if ENTERPRISE_USER in document:
        document[ENTERPRISE_USER] = _typed(DEFINITIONS[ENTERPRISE_USER],
                                           document[ENTERPRISE_USER], f"{ENTERPRISE_USER}:")
    return _typed(DEFINITIONS[None], document, "")


def _typed(definitions: dict[str, dict], container: dict, prefix: str) -> dict:
    """``container`` with every schema-defined attribute type-checked and spelled as its
    schema spells it (RFC 7643 §2.1: names are case-insensitive; clients read them back in
    canonical case). Attributes no schema defines are kept as sent."""
    result = {}
    for key, value in container.items():
        definition = definitions.get(key.lower())
        if definition is None:
            result[key] = value
            continue
        _check_type(definition, value, f"{prefix}{key}")
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
    ``manager``, reference §2.5) go into the extension, as a PATCH path would put them."""
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


def _check_type(definition: dict | None, value: object, label: str) -> None:
    """``value`` has the type and plurality its schema attribute says (RFC 7643 §2.3, §7).

    Attributes no schema defines are kept as sent, whatever their type.
    """
    if definition is None:
        return
    if definition.get("multiValued"):
        if not isinstance(value, list):
            raise InvalidValue(f"{label} must be an array")
        for item in value:
            _check_single(definition, item, label)
    else:
        _check_single(definition, value, label)


def _check_single(definition: dict, value: object, label: str) -> None:
    expected = _TYPES.get(definition["type"].lower(), (object,))
    if not isinstance(value, expected) or (bool not in expected and isinstance(value, bool)):
        raise InvalidValue(f"{label} must be of type {definition['type']}")
    if isinstance(value, dict):
        subs = {sub["name"].lower(): sub for sub in definition.get("subAttributes", [])}
        for key, item in value.items():
            sub = subs.get(key.lower())
            if sub is not None:
                _check_single(sub, item, f"{label}.{key}")


def clean_group(raw: object) -> dict:
    """A validated group document; ``members`` stays a list of ``{"value": id}`` objects."""
    document = _writable(raw, "a Group")
    _check_identity(_string(document, "displayName", required=True) or "", "displayName")
    _string(document, "externalId")
    members_key = key_in(document, "members")
    members = document.pop(members_key, [])
    document["members"] = member_ids(members)
    return document


def member_ids(members: object) -> list[str]:
    """The member ids of a ``members`` value: ``[{"value": id, "$ref": null}, …]``."""
    if isinstance(members, dict):
        members = [members]
    if not isinstance(members, list):
        raise InvalidValue("members must be an array of {\"value\": id} objects")
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

def user_document(user: Any) -> dict:
    """The writable attributes of a ``ScimUser`` as a SCIM document."""
    document: dict[str, Any] = {"userName": user.user_name}
    if user.external_id is not None:
        document["externalId"] = user.external_id
    if user.display_name is not None:
        document["displayName"] = user.display_name
    if user.active is not None:
        document["active"] = user.active
    document.update(copy.deepcopy(user.attributes))
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
    document.update(copy.deepcopy(group.attributes))
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
