"""SCIM PATCH (RFC 7644 §3.5.2) applied to a resource document, in both of Azure's dialects.

Pure functions on the dict form of a resource (see ``scim.documents``); nothing here touches
the database. Azure AD sends two PATCH dialects (docs/azure-scim-client.md §3.1) and both are
accepted: capitalised ``op`` values, ``"True"``/``"False"`` strings for booleans, path-less
``replace`` whose keys are dotted (``name.givenName``) or URN-qualified paths, value-path filters
such as ``emails[type eq "work"].value``, enterprise attributes by URN path, and ``manager`` as a
bare string, an object, a one-element list, or ``""`` to clear it.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from typing import Any

from .documents import (
    CORE_USER,
    ENTERPRISE_ATTRIBUTES,
    ENTERPRISE_USER,
    MULTI_VALUED,
    canonical_urn,
    check_declared_path,
    coerce_boolean,
    is_blank,
    is_custom_extension,
    is_hollow,
    is_schema_urn,
    key_in,
    set_manager,
)
from .errors import (
    InvalidFilter,
    InvalidPath,
    InvalidSyntax,
    InvalidValue,
    Mutability,
    NoTarget,
    attribute_detail,
)

_PATH = re.compile(
    r"(?P<attr>[A-Za-z$][\w$-]*)(?:\[(?P<filter>.*)\])?(?:\.(?P<sub>[A-Za-z$][\w$-]*))?"
)
_CONDITION = re.compile(
    r"\s*(?P<attr>[A-Za-z$][\w$-]*)\s+eq\s+"
    r'(?P<value>"(?:[^"\\]|\\.)*"|true|false|null|-?\d+(?:\.\d+)?)\s*',
    re.IGNORECASE,
)
_AND = re.compile(r"\s+and\s+", re.IGNORECASE)


@dataclass(frozen=True)
class Path:
    """A parsed PATCH path (RFC 7644 §3.5.2 ``PATH`` ABNF): ``[urn:]attr[filter][.sub]``.

    ``urn`` is the extension schema, or ``None`` for the resource's core schema. ``conditions``
    is the value filter as ``(subAttribute, value)`` pairs joined by ``and``.
    """

    urn: str | None
    attr: str
    conditions: tuple[tuple[str, Any], ...] | None = None
    sub: str | None = None


def parse_path(raw: object, core_schema: str = CORE_USER) -> Path:
    """Parse a PATCH path, raising ``invalidPath``/``invalidFilter`` (RFC 7644 §3.12)."""
    if not isinstance(raw, str) or not raw.strip():
        raise InvalidPath("path must be a non-empty string")
    text = raw.strip()
    urn: str | None = None
    if text.lower().startswith("urn:"):
        bracket = text.find("[")
        head = text if bracket < 0 else text[:bracket]
        colon = head.rfind(":")
        urn, text = canonical_urn(text[:colon]), text[colon + 1 :]
        if urn.lower() == core_schema.lower():
            urn = None
    match = _PATH.fullmatch(text)
    if match is None:
        raise InvalidPath(f"path {raw!r} is not a valid attribute path")
    attr = match["attr"]
    if urn is None and core_schema == CORE_USER and attr.lower() in ENTERPRISE_ATTRIBUTES:
        # Azure's reference walkthrough sends "manager" without its schema URN.
        urn = ENTERPRISE_USER
    conditions = None
    if match["filter"] is not None:
        conditions = parse_conditions(match["filter"])
    return Path(urn=urn, attr=attr, conditions=conditions, sub=match["sub"])


def parse_conditions(text: str) -> tuple[tuple[str, Any], ...]:
    """The ``eq`` clauses of a value filter joined by ``and`` (all that Azure sends)."""
    conditions = []
    for part in _AND.split(text.strip()):
        match = _CONDITION.fullmatch(part)
        if match is None:
            raise InvalidFilter(
                f'value filter {text!r} is not supported: use attribute eq "value" joined by and'
            )
        literal = match["value"]
        value = json.loads(literal.lower() if literal[0] != '"' else literal)
        conditions.append((match["attr"], value))
    return tuple(conditions)


def _matches(item: object, conditions: tuple[tuple[str, Any], ...]) -> bool:
    if not isinstance(item, dict):
        return False
    for attr, expected in conditions:
        actual = item.get(key_in(item, attr))
        if isinstance(expected, str) and isinstance(actual, str):
            if actual.lower() != expected.lower():
                return False
        elif coerce_boolean(attr, actual) != expected:
            return False
    return True


def operations_of(body: object) -> list[dict]:
    """The ``Operations`` of a PatchOp body (RFC 7644 §3.5.2), validated for shape."""
    if not isinstance(body, dict):
        raise InvalidSyntax("PATCH body must be a JSON object")
    operations = body.get(key_in(body, "Operations"))
    if not isinstance(operations, list) or not operations:
        raise InvalidSyntax("PATCH body needs a non-empty Operations array")
    result = []
    for operation in operations:
        if not isinstance(operation, dict):
            raise InvalidSyntax("each PATCH operation must be a JSON object")
        op = operation.get(key_in(operation, "op"))
        # Azure capitalises op ("Replace"); matching ignores case (docs/azure-scim-client.md G4).
        if not isinstance(op, str) or op.lower() not in {"add", "remove", "replace"}:
            raise InvalidSyntax(f"PATCH op must be add, remove or replace, not {op!r}")
        path = operation.get(key_in(operation, "path"))
        if path is not None and not isinstance(path, str):
            raise InvalidPath("path must be a string")
        value_key = key_in(operation, "value")
        value = operation.get(value_key)
        if (
            op.lower() == "add"
            and value is None
            or (op.lower() == "replace" and value_key not in operation)
        ):
            # §3.5.2.1/§3.5.2.3: add and replace "MUST contain a value"; replace with an
            # explicit null or "" clears the attribute (how Azure empties one,
            # docs/azure-scim-client.md §3.5).
            raise InvalidValue(f"{op} needs a value")
        if not path:
            if op.lower() == "remove":
                raise NoTarget("remove needs a path (RFC 7644 §3.5.2.2)")
            if not isinstance(value, dict):
                raise InvalidValue("an operation without a path needs an object value")
        result.append({"op": op.lower(), "path": path or None, "value": value})
    return result


def names_groups(operations: list[dict]) -> bool:
    """Whether any operation writes ``groups`` (read-only), which is then compared with the
    user's groups: only such a PATCH needs them in its start document."""
    for operation in operations:
        path, value = operation["path"], operation["value"]
        if path is None and isinstance(value, dict):
            if any(key.lower() == "groups" for key in value):
                return True
        elif isinstance(path, str) and path.strip().lower().startswith("groups"):
            return True
    return False


def apply_patch(document: dict, operations: list[dict], core_schema: str = CORE_USER) -> dict:
    """A new document with ``operations`` (as ``operations_of`` checked them) applied in order.

    ``document`` should carry the resource's ``id`` (and ``groups`` for a user when
    ``names_groups``), so that writing back an unchanged read-only value is accepted.

    The caller validates the result with ``clean_user``/``clean_group`` and saves nothing unless
    every operation applied, so a PATCH is all or nothing.
    """
    result = copy.deepcopy(document)
    for operation in operations:
        op, path, value = operation["op"], operation["path"], operation["value"]
        if path is None:
            for key, item in value.items():
                if key.lower() in {"schemas", "meta"}:
                    continue
                if is_schema_urn(key):
                    if canonical_urn(key) == core_schema and isinstance(item, dict):
                        for sub_key, sub_item in item.items():
                            _apply(
                                result, op, parse_path(sub_key, core_schema), sub_item, core_schema
                            )
                        continue
                    if not isinstance(item, dict):
                        raise InvalidValue(f"{key} must be an object of extension attributes")
                    for sub_key, sub_item in item.items():
                        _apply(
                            result,
                            op,
                            parse_path(f"{key}:{sub_key}", core_schema),
                            sub_item,
                            core_schema,
                        )
                    continue
                _apply(result, op, parse_path(key, core_schema), item, core_schema)
        elif is_schema_urn(path) and canonical_urn(path) != core_schema:
            _apply_to_extension(result, op, canonical_urn(path), value, core_schema)
        else:
            _apply(result, op, parse_path(path, core_schema), value, core_schema)
    _refresh_formatted_name(document, result)
    return result


def _apply_to_extension(document: dict, op: str, urn: str, value: object, core_schema: str) -> None:
    """A path that is an extension's schema URN names the whole extension (RFC 7644 §3.10)."""
    if not is_custom_extension(urn) and not (core_schema == CORE_USER and urn == ENTERPRISE_USER):
        raise InvalidPath(f"{attribute_detail(urn)} is in no schema of this resource type")
    if op == "remove":
        document.pop(key_in(document, urn), None)
        return
    if not isinstance(value, dict):
        raise InvalidValue(f"{urn} needs an object of its attributes")
    if op == "replace":
        document.pop(key_in(document, urn), None)
    for key, item in value.items():
        _apply(
            document,
            "add" if op == "replace" else op,
            parse_path(f"{urn}:{key}", core_schema),
            item,
            core_schema,
        )


def _refresh_formatted_name(before: dict, after: dict) -> None:
    """Keep a derived ``name.formatted`` in step with its parts, as Azure's example response
    shows (docs/azure-scim-client.md §2.2.5); a ``formatted`` the client wrote itself is left
    alone."""
    old, new = before.get(key_in(before, "name")), after.get(key_in(after, "name"))
    if not isinstance(old, dict) or not isinstance(new, dict):
        return
    key = key_in(new, "formatted")
    parts = ("givenName", "familyName")
    derived = " ".join(str(old.get(key_in(old, p)) or "") for p in parts).strip()
    if old.get(key_in(old, "formatted")) != derived or new.get(key) != old.get(key):
        return
    refreshed = " ".join(str(new.get(key_in(new, p)) or "") for p in parts).strip()
    if refreshed:
        new[key] = refreshed


def _container(document: dict, path: Path, create: bool) -> dict | None:
    if path.urn is None:
        return document
    key = key_in(document, path.urn)
    container = document.get(key)
    if container is None and create:
        container = document[key] = {}
    if container is not None and not isinstance(container, dict):
        raise InvalidPath(f"{path.urn} does not hold an object")
    return container


def _same_id(value: object, current: object) -> bool:
    return isinstance(value, str) and value.strip().lower() == str(current).lower()


def _member_ids(value: object) -> set[str] | None:
    """The ``value``s of a multi-valued reference attribute such as ``groups``, or ``None``."""
    if not isinstance(value, list):
        return None
    ids = set()
    for item in value:
        member = item.get(key_in(item, "value")) if isinstance(item, dict) else None
        if not isinstance(member, str):
            return None
        ids.add(member.strip().lower())
    return ids


def _same_meta(name: str, value: object, current: dict) -> bool:
    """Whether ``value`` is what ``meta.<name>`` already is. The start document's ``location``
    is the resource's path (``/Users/<id>``): the service's base URL is the view's to know, and
    a location naming this resource is unchanged whatever host the client saw it on."""
    key = key_in(current, name)
    if key not in current or not isinstance(value, str):
        return False
    if key == "location":
        return value.rstrip("/").lower().endswith(current[key].lower())
    return value == current[key]


def _check_read_only(document: dict, op: str, path: Path, value: object) -> None:
    """An operation on ``id``, ``meta`` or ``groups`` is accepted, as a no-op, only when it
    writes back the value the resource already has (Okta's group rename re-sends the group's
    own ``id``); a change is ``mutability`` (RFC 7644 §3.5.2). ``document`` carries the
    resource's ``id`` and ``meta`` and, when the operations name them, its ``groups``."""
    attr = path.attr.lower()
    unchanged = False
    if op != "remove" and path.conditions is None:
        current_meta = document.get("meta") if isinstance(document.get("meta"), dict) else None
        if attr == "meta" and current_meta is not None:
            if path.sub is not None:
                unchanged = _same_meta(path.sub, value, current_meta)
            elif isinstance(value, dict) and value:
                unchanged = all(_same_meta(k, v, current_meta) for k, v in value.items())
        elif path.sub is None and attr == "id":
            unchanged = "id" in document and _same_id(value, document["id"])
        elif path.sub is None and attr == "groups":
            unchanged = "groups" in document and _member_ids(value) == _member_ids(
                document["groups"]
            )
    if not unchanged:
        raise Mutability(f"{path.attr} is read-only")


def _apply(document: dict, op: str, path: Path, value: object, core_schema: str) -> None:
    if path.attr.lower() in {"id", "meta", "groups"} and path.urn is None:
        _check_read_only(document, op, path, value)
        return
    if path.attr.lower() == "password" and path.urn is None or path.attr.lower() == "schemas":
        # writeOnly and never stored, or derived (clients put "schemas" in extension objects
        # too); see IGNORED_ON_WRITE
        return
    check_declared_path(core_schema, path.urn, path.attr, path.sub)
    if op == "remove":
        container = _container(document, path, create=False)
        if container is None:
            return
        _remove(container, path, value)
        if path.urn is not None and not container:
            document.pop(key_in(document, path.urn), None)
        return
    container = _container(document, path, create=True)
    assert container is not None  # noqa: S101 - create=True always returns a dict
    if path.conditions is not None:
        _set_filtered(container, op, path, value)
    elif path.sub is not None:
        key = key_in(container, path.attr)
        parent = container.get(key)
        if parent is None:
            parent = container[key] = {}
        if not isinstance(parent, dict):
            raise InvalidPath(f"{path.attr} is multi-valued: select elements with a filter")
        _set_simple(parent, op, path.sub, value)
        if not parent:
            container.pop(key)
    elif path.attr.lower() == "manager":
        set_manager(container, value)
    else:
        _set_simple(container, op, path.attr, value)
    if path.urn is not None and not container:
        document.pop(key_in(document, path.urn), None)


def _set_simple(container: dict, op: str, attr: str, value: object) -> None:
    key = key_in(container, attr)
    current = container.get(key)
    if is_blank(value) and not isinstance(value, list | dict) or value is None:
        # Azure clears values with "" (docs/azure-scim-client.md §3.5); RFC 7644 §3.5.2.3.
        container.pop(key, None)
        return
    multi = key.lower() in MULTI_VALUED or isinstance(current, list) or isinstance(value, list)
    if multi:
        values = value if isinstance(value, list) else [value]
        if op == "add" and isinstance(current, list):
            # §3.5.2.1: add to a multi-valued attribute appends; an identical value is kept once.
            container[key] = current + [item for item in values if item not in current]
        else:
            container[key] = list(values)
        if not container[key]:
            container.pop(key)
        return
    if isinstance(value, dict) and isinstance(current, dict):
        # §3.5.2.1 and §3.5.2.3: sub-attributes not given are left unchanged.
        for sub, item in value.items():
            _set_simple(current, op, sub, item)
        if not current:
            container.pop(key)
        return
    container[key] = value


def _set_filtered(container: dict, op: str, path: Path, value: object) -> None:
    """add/replace on ``attr[filter]`` or ``attr[filter].sub`` (RFC 7644 §3.5.2.1, §3.5.2.3).

    When no element matches, one is created from the filter's ``eq`` values, which is what
    Azure expects for ``emails[type eq "work"].value`` on a user without a work email.
    """
    key = key_in(container, path.attr)
    current = container.get(key)
    if current is None:
        current = []
    if not isinstance(current, list):
        raise InvalidPath(f"{path.attr} is not multi-valued; it takes no filter")
    conditions = path.conditions or ()
    matches = [item for item in current if _matches(item, conditions)]
    if not matches:
        if is_blank(value):
            return
        created = {key_in({}, attr): expected for attr, expected in conditions}
        current.append(created)
        matches = [created]
    for item in matches:
        if path.sub is not None:
            _set_simple(item, op, path.sub, value)
        elif isinstance(value, dict):
            for sub, sub_value in value.items():
                _set_simple(item, op, sub, sub_value)
        else:
            raise InvalidValue(f"{path.attr}[...] needs an object value")
    current[:] = [item for item in current if not is_hollow(key, item)]
    if current:
        container[key] = current
    else:
        container.pop(key, None)


def _remove(container: dict, path: Path, value: object) -> None:
    key = key_in(container, path.attr)
    current = container.get(key)
    if current is None:
        return
    if path.conditions is not None:
        items = current if isinstance(current, list) else [current]
        kept = []
        for item in items:
            if not _matches(item, path.conditions):
                kept.append(item)
            elif path.sub is not None:
                item.pop(key_in(item, path.sub), None)
                if not is_hollow(key, item):
                    kept.append(item)
        if isinstance(current, dict):
            if not kept:
                container.pop(key)
        elif kept:
            container[key] = kept
        else:
            container.pop(key)
        return
    if path.sub is not None:
        if isinstance(current, dict):
            current.pop(key_in(current, path.sub), None)
            if not current:
                container.pop(key)
        elif isinstance(current, list):
            for item in current:
                if isinstance(item, dict):
                    item.pop(key_in(item, path.sub), None)
            current[:] = [item for item in current if not is_hollow(key, item)]
            if not current:
                container.pop(key)
        return
    if isinstance(current, list) and isinstance(value, list) and value:
        # Azure's legacy form lists the values to remove; never read it as "remove all".
        doomed = {_value_of(item) for item in value}
        kept = [item for item in current if _value_of(item) not in doomed]
        if kept:
            container[key] = kept
        else:
            container.pop(key)
        return
    container.pop(key)


def _value_of(item: object) -> object:
    if isinstance(item, dict):
        found = item.get(key_in(item, "value"))
        return found.lower() if isinstance(found, str) else json.dumps(found, sort_keys=True)
    return item.lower() if isinstance(item, str) else json.dumps(item, sort_keys=True)
