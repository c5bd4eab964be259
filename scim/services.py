"""Every change SCIM makes to an organization's directory: users, groups and memberships.

The adapters translate SCIM to documents and call these; views never write rows themselves.
Each function runs in one transaction, so a request either applies completely or not at all
(RFC 7644 §3.5.2: "each operation ... MUST be applied ... If any of the operations fail, the
whole request fails"). They join the caller's transaction without savepoints
(``atomic(savepoint=False)``): an error rolls back the caller's whole transaction, which is what
a SCIM request wants, and a write costs no SAVEPOINT/RELEASE round trips. The SCIM views wrap
each write request in its own ``transaction.atomic()``.

Query counts are bounded by the size of the request, never by the size of the tenant or the
group: member ids are resolved with one ``IN`` query within the organization, new memberships
are inserted in one bulk statement that ignores rows a concurrent request already added, and
removals are one ``DELETE``.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from core.db import multi_statement_cursor
from organizations.models import Organization

from . import documents, events
from .errors import InvalidPath, InvalidValue, Uniqueness, attribute_detail
from .models import ExtensionAttribute, GroupMembership, ScimGroup, ScimUser
from .patch import Path, apply_patch, names_groups, parse_path

logger = logging.getLogger(__name__)

UNKNOWN_IDS_SHOWN = 5
# Member ids kept per request and direction for the history: ids only (never bodies), so a
# 40,000-member PATCH records at most this many; the counts stay exact.
MEMBER_IDS_RECORDED = 1000


@dataclass
class Outcome:
    """What a write did, for the response and for the call record (``scim.calls``).

    ``added_ids``/``removed_ids`` are the SCIM ids of the members added and removed (at most
    ``MEMBER_IDS_RECORDED`` each), so the history can say who joined or left a group.
    """

    changes: list[dict] = field(default_factory=list)
    members_added: int = 0
    members_removed: int = 0
    added_ids: list[str] = field(default_factory=list)
    removed_ids: list[str] = field(default_factory=list)


class UnknownMembers(InvalidValue):
    """A membership change named ids that are no user of the organization (RFC 7644 §3.12,
    400 ``invalidValue``). Carries the ids the request named, for the history."""

    def __init__(self, detail: str, *, unknown: list[str], requested: list[str]) -> None:
        super().__init__(detail)
        self.unknown = unknown
        self.requested = requested


def _save_unique(instance: ScimUser | ScimGroup, message: str, **save_kwargs: Any) -> None:
    """Save; a unique-index violation becomes 409 ``uniqueness``.

    The database decides, not a prior lookup, so two parallel creates of one ``userName`` in
    different cases cannot both succeed (RFC 7644 §3.3: "409 (Conflict) with a "scimType"
    error code of "uniqueness"").
    """
    _written_unique(lambda: instance.save(**save_kwargs), message)


def _written_unique(
    write: Callable[[], None], message: str, model: type[ScimUser] | type[ScimGroup] | None = None
) -> None:
    """``write``; a unique-index violation becomes 409 ``uniqueness`` (``_save_unique``).

    Given ``model``, only a violation the database names on ``model``'s table does (where it
    names one: PostgreSQL), for a ``write`` whose statement writes other tables too."""
    try:
        with transaction.atomic(savepoint=False):
            write()
    except IntegrityError as exc:
        violated = getattr(getattr(exc.__cause__, "diag", None), "table_name", None)
        if model is not None and violated is not None and violated != model._meta.db_table:
            raise
        raise Uniqueness(message) from exc


def _scim_type(value: object) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "decimal"
    return "complex" if isinstance(value, dict) else "string"


def note_extension_attributes(organization_id: int, resource_type: str, document: dict) -> None:
    """Remember the extension attributes ``document`` carries that this organization's Azure
    never sent before (``ExtensionAttribute``), for ``/Schemas`` and the admin.

    No query for a document without extension attributes; one to read what is known, and one
    insert when something is new. Past ``ExtensionAttribute.MAX_PER_ORGANIZATION`` a new one
    is refused, so a token cannot grow ``/Schemas`` without bound.
    """
    sent = documents.extension_attributes(document)
    if not sent:
        return
    known = {
        (schema.lower(), name.lower())
        for schema, name in ExtensionAttribute.objects.filter(
            organization_id=organization_id, resource_type=resource_type
        ).values_list("schema", "name")
    }
    new: dict[tuple[str, str], ExtensionAttribute] = {}
    for schema, name, value in sent:
        key = (schema.lower(), name.lower())
        if key in known or key in new:
            continue
        element = value[0] if isinstance(value, list) and value else value
        new[key] = ExtensionAttribute(
            organization_id=organization_id,
            resource_type=resource_type,
            schema=schema,
            name=name,
            value_type=_scim_type(element),
            multi_valued=isinstance(value, list),
        )
    if not new:
        return
    if len(known) + len(new) > ExtensionAttribute.MAX_PER_ORGANIZATION:
        first = next(iter(new.values()))
        raise InvalidValue(
            f"{attribute_detail(str(first))} would take this organization past "
            f"{ExtensionAttribute.MAX_PER_ORGANIZATION} extension attributes per resource type"
        )
    ExtensionAttribute.objects.bulk_create(new.values(), ignore_conflicts=True)
    logger.info(
        "scim extension attributes first seen org=%s type=%s names=%s",
        organization_id,
        resource_type,
        ",".join(str(a) for a in new.values()),
    )


def _touches_extensions(changes: list[dict]) -> bool:
    return any(
        documents.is_custom_extension(change["attribute"].rsplit(":", 1)[0]) for change in changes
    )


# --- users -----------------------------------------------------------------------------------


@transaction.atomic(savepoint=False)
def create_user(organization: Organization, document: dict) -> ScimUser:
    """Create a user from a document cleaned by ``documents.clean_user`` (RFC 7644 §3.3)."""
    now = timezone.now()
    user = ScimUser(
        organization=organization,
        created_at=now,
        updated_at=now,
        **documents.user_fields(document),
    )
    # The row and its directory event in one statement where the database allows it.
    _written_unique(
        lambda: events.user_inserted_and_created(user),
        f"userName {user.user_name!r} is already taken",
        ScimUser,
    )
    note_extension_attributes(organization.pk, "User", document)
    logger.info("scim user created org=%s id=%s", organization.pk, user.scim_id)
    return user


@transaction.atomic(savepoint=False)
def replace_user(user: ScimUser, document: dict) -> Outcome:
    """Make ``user`` match ``document`` (PUT, and PATCH after its operations are applied).

    ``active: false`` is how Azure deactivates (soft delete, docs/azure-scim-client.md §3.4): the
    row stays and is still returned by GET and filters.
    """
    before = documents.user_document(user)
    fields = documents.user_fields(document)
    changes = documents.changes_between(before, documents.user_document(ScimUser(**fields)))
    if not changes:
        return Outcome()
    for name, value in fields.items():
        setattr(user, name, value)
    user.updated_at = timezone.now()
    user.version += 1
    _written_unique(
        lambda: user.save_fields([*fields, "updated_at", "version"]),
        f"userName {user.user_name!r} is already taken",
    )
    if _touches_extensions(changes):
        note_extension_attributes(user.organization_id, "User", document)
    events.user_changed(user, changes)
    logger.info(
        "scim user updated org=%s id=%s attributes=%s",
        user.organization_id,
        user.scim_id,
        ",".join(change["attribute"] for change in changes),
    )
    return Outcome(changes=changes)


@transaction.atomic(savepoint=False)
def patch_user(user: ScimUser, operations: list[dict]) -> Outcome:
    """Apply PATCH ``operations`` (already shape-checked by ``scim.patch.operations_of``)."""
    start = documents.declared_only(documents.user_document(user), documents.CORE_USER)
    start["id"] = str(user.scim_id)
    start["meta"] = documents.meta("User", user, f"/Users/{user.scim_id}")
    if names_groups(operations):
        start["groups"] = [
            {"value": str(scim_id)}
            for scim_id in ScimGroup.objects.filter(memberships__user=user).values_list(
                "scim_id", flat=True
            )
        ]
    patched = apply_patch(start, operations)
    return replace_user(user, documents.clean_user(patched, default_active=None))


@transaction.atomic(savepoint=False)
def delete_user(user: ScimUser) -> None:
    """Hard delete (RFC 7644 §3.6); memberships go with the user."""
    GroupMembership.objects.filter(user=user).delete()
    ScimUser.objects.filter(pk=user.pk).delete()
    events.user_deleted(user)
    logger.info("scim user deleted org=%s id=%s", user.organization_id, user.scim_id)


# --- groups ----------------------------------------------------------------------------------


@dataclass
class _MemberStep:
    action: str  # "add", "remove", "remove_all" or "replace"
    ids: list[str] = field(default_factory=list)


def _parse_uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except (ValueError, AttributeError, TypeError):
        return None


def _resolve(
    organization: Organization, steps: list[_MemberStep]
) -> tuple[dict[str, int], dict[int, events.Member]]:
    """Map every member id in ``steps`` (as sent) to a user pk, in one query, within
    ``organization``; also answers each user found as its directory events name it, so the
    events of the members added need no second lookup.

    Each id is parsed once. An id of another organization's user resolves to nothing, exactly
    like an unknown id.
    """
    parsed = {
        raw: value
        for step in steps
        for raw in step.ids
        if isinstance(raw, str) and (value := _parse_uuid(raw)) is not None
    }
    if not parsed:
        return {}, {}
    pks_by_id: dict[uuid.UUID, int] = {}
    found: dict[int, events.Member] = {}
    for pk, scim_id, external_id, user_name in _users_with_ids(organization, set(parsed.values())):
        pks_by_id[scim_id] = pk
        found[pk] = events.member(scim_id, external_id, user_name)
    resolved = {raw: pks_by_id[value] for raw, value in parsed.items() if value in pks_by_id}
    return resolved, found


def _users_with_ids(organization: Organization, scim_ids: set[uuid.UUID]) -> list[tuple]:
    """``(pk, scim_id, external_id, user_name)`` of the organization's users among ``scim_ids``.

    On PostgreSQL the ids travel as one array parameter: an ``IN`` list of 1,000 placeholders
    costs more to build, quote and parse than the index probes it asks for. Each id is then
    looked up on its own (``LATERAL … LIMIT 1``; ``scim_id`` is unique), which plans as one
    ``scim_id`` index probe per id: 2-3 ms for 1,000 ids. Left to choose, the planner prices a
    scan of the whole tenant as cheaper (``scim_id = ANY(…)``: a sequential scan, 14-18 ms at
    50,000 users; a plain join on ``unnest``: a hash join over every user, 23-28 ms).

    The organization is checked outside the ``LIMIT``, so the probe names ``scim_id`` alone:
    with it inside, a table never analyzed (a new database, or autovacuum off) priced an index
    led by ``organization_id`` the same as the probe and could walk the tenant once per id
    (54-66 ms for 1,000 ids among 1,200 users, README "Issue 21, fifteenth round").
    """
    if connection.vendor != "postgresql":
        return list(
            ScimUser.objects.filter(organization=organization, scim_id__in=scim_ids).values_list(
                "pk", "scim_id", "external_id", "user_name"
            )
        )
    table = connection.ops.quote_name(ScimUser._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT u.id, u.scim_id, u.external_id, u.user_name "  # noqa: S608 - quoted name
            "FROM unnest(%s::uuid[]) AS wanted(scim_id) CROSS JOIN LATERAL ("
            f"SELECT id, scim_id, external_id, user_name, organization_id FROM {table} "
            "WHERE scim_id = wanted.scim_id LIMIT 1) AS u WHERE u.organization_id = %s",
            [_array_literal(scim_ids), organization.pk],
        )
        return cursor.fetchall()


def _array_literal(values: Iterable[uuid.UUID | int]) -> str:
    """A PostgreSQL array literal (``{a,b,c}``) of UUIDs or integers, bound as one string.

    psycopg quotes a Python list element by element (a regular expression per element, to
    decide whether it needs quotes): 2.6 ms for the two arrays of a 1,000-member PATCH. A
    UUID's or an integer's text never needs quoting, so one join does it.
    """
    return "{" + ",".join(map(str, values)) + "}"


def _pks(
    step: _MemberStep, resolved: dict[str, int], *, strict: bool, requested: list[str]
) -> list[int]:
    pks, unknown = [], []
    for raw in step.ids:
        pk = resolved.get(raw) if isinstance(raw, str) else None
        if pk is None:
            unknown.append(raw)
        else:
            pks.append(pk)
    if strict and unknown:
        shown = ", ".join(unknown[:UNKNOWN_IDS_SHOWN])
        more = f" and {len(unknown) - UNKNOWN_IDS_SHOWN} more" if len(unknown) > 5 else ""
        raise UnknownMembers(
            f"no user with id {shown}{more} in this organization",
            unknown=unknown[:MEMBER_IDS_RECORDED],
            requested=requested[:MEMBER_IDS_RECORDED],
        )
    return sorted(set(pks))


def _add_members(group: ScimGroup, pks: list[int]) -> list[int]:
    """Insert the memberships that do not exist yet; returns the user pks added, in request
    order, each once. Re-adding a member is a success (RFC 7644 §3.5.2.1); a concurrent add of
    the same member is not a failure either; sorted pks keep lock order stable between
    concurrent requests."""
    wanted = sorted(set(pks))
    if not wanted:
        return []
    try:
        if connection.vendor == "postgresql":
            inserted = _insert_memberships_postgresql(group, wanted)
            # Django's foreign keys are DEFERRABLE INITIALLY DEFERRED: check them now, so a
            # member deleted by a concurrent request is a 400 here, not a failed COMMIT (500).
            # What connection.check_constraints() sends, in one round trip instead of two.
            with multi_statement_cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE; SET CONSTRAINTS ALL DEFERRED")
        else:
            existing = set(
                GroupMembership.objects.filter(group=group, user_id__in=wanted).values_list(
                    "user_id", flat=True
                )
            )
            new = [GroupMembership(group=group, user_id=pk) for pk in wanted if pk not in existing]
            GroupMembership.objects.bulk_create(new, ignore_conflicts=True)
            inserted = {membership.user_id for membership in new}
    except IntegrityError as exc:
        raise InvalidValue("a user being added was deleted meanwhile; retry") from exc
    return [pk for pk in dict.fromkeys(pks) if pk in inserted]


def _insert_memberships_postgresql(group: ScimGroup, user_pks: list[int]) -> set[int]:
    """One ``INSERT … SELECT FROM unnest … ON CONFLICT DO NOTHING RETURNING``: the existing
    members are skipped by the unique constraint itself, with no prior lookup and no model
    instance per member; answers the user pks actually inserted."""
    table = connection.ops.quote_name(GroupMembership._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (group_id, user_id) "  # noqa: S608 - a quoted table name
            "SELECT %s, member FROM unnest(%s::bigint[]) AS member "
            "ON CONFLICT DO NOTHING RETURNING user_id",
            [group.pk, _array_literal(user_pks)],
        )
        return {row[0] for row in cursor.fetchall()}


def _remove_members(group: ScimGroup, memberships: Any) -> list[tuple[int, str]]:
    """Delete ``memberships`` of ``group``; returns the (user pk, SCIM id) of those removed."""
    members = [
        (pk, str(scim_id)) for pk, scim_id in memberships.values_list("user_id", "user__scim_id")
    ]
    if members:
        GroupMembership.objects.filter(group=group, user_id__in=[pk for pk, _ in members]).delete()
    return members


def _apply_member_steps(
    group: ScimGroup, steps: list[_MemberStep], outcome: Outcome
) -> events.MemberChanges:
    """Apply ``steps`` to ``group``'s members, counting and naming them in ``outcome`` (for the
    history); returns the members added and removed (for the directory events)."""
    resolved, found = _resolve(group.organization, steps)
    scim_ids = {pk: str(member.id) for pk, member in found.items()}
    requested = [raw for step in steps for raw in step.ids if isinstance(raw, str)]
    # Validate every step before writing anything.
    planned = [
        (step, _pks(step, resolved, strict=step.action in {"add", "replace"}, requested=requested))
        for step in steps
    ]
    added: list[int] = []
    removed: list[tuple[int, str]] = []

    def memberships() -> QuerySet[GroupMembership]:
        # Built only for a removal: an add never runs it.
        return GroupMembership.objects.filter(group=group)

    for step, pks in planned:
        if step.action == "add":
            added += _add_members(group, pks)
        elif step.action == "remove":
            if pks:
                removed += _remove_members(group, memberships().filter(user_id__in=pks))
        elif step.action == "remove_all":
            removed += _remove_members(group, memberships())
        else:  # replace: RFC 7644 §3.5.2.3, the given list becomes the membership
            removed += _remove_members(group, memberships().exclude(user_id__in=pks))
            added += _add_members(group, pks)
    outcome.members_added += len(added)
    outcome.members_removed += len(removed)
    outcome.added_ids.extend(scim_ids[pk] for pk in added[:MEMBER_IDS_RECORDED])
    outcome.removed_ids.extend(scim_id for _, scim_id in removed[:MEMBER_IDS_RECORDED])
    return events.MemberChanges(added, [pk for pk, _ in removed], found)


def _touch_group(group: ScimGroup) -> None:
    """Bump ``version`` and ``lastModified`` in one statement, safe under concurrency.

    The statement ``ScimGroup.objects.filter(pk=…).update(version=F("version") + 1,
    updated_at=…)`` compiles to, written directly: every member PATCH runs it, and it needs no
    QuerySet built and compiled each time."""
    now = timezone.now()
    quote = connection.ops.quote_name
    meta = ScimGroup._meta
    version = quote(meta.get_field("version").column)
    updated_at = meta.get_field("updated_at")
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {quote(meta.db_table)} SET {version} = {version} + 1, "  # noqa: S608
            f"{quote(updated_at.column)} = %s WHERE {quote(meta.pk.column)} = %s",
            [updated_at.get_db_prep_value(now, connection), group.pk],
        )
    group.version += 1
    group.updated_at = now


@transaction.atomic(savepoint=False)
def create_group(organization: Organization, document: dict) -> tuple[ScimGroup, Outcome]:
    """Create a group from a document cleaned by ``documents.clean_group`` (RFC 7644 §3.3);
    Azure creates groups empty and adds members by PATCH, but initial members work too."""
    now = timezone.now()
    group = ScimGroup(
        organization=organization,
        created_at=now,
        updated_at=now,
        **documents.group_fields(document),
    )
    _save_unique(group, f"displayName {group.display_name!r} is already taken")
    note_extension_attributes(organization.pk, "Group", document)
    group.organization = organization
    outcome = Outcome()
    members = _apply_member_steps(group, [_MemberStep("add", document.get("members", []))], outcome)
    events.group_changed(group, created=True, members=members)
    logger.info(
        "scim group created org=%s id=%s members=%s",
        organization.pk,
        group.scim_id,
        outcome.members_added,
    )
    return group, outcome


def _save_group_document(group: ScimGroup, document: dict) -> list[dict]:
    before = documents.group_document(group)
    fields = documents.group_fields(document)
    changes = documents.changes_between(before, documents.group_document(ScimGroup(**fields)))
    if changes:
        for name, value in fields.items():
            setattr(group, name, value)
        group.updated_at = timezone.now()
        group.version += 1
        _save_unique(
            group,
            f"displayName {group.display_name!r} is already taken",
            update_fields=[*fields, "updated_at", "version"],
        )
        if _touches_extensions(changes):
            note_extension_attributes(group.organization_id, "Group", document)
    return changes


@transaction.atomic(savepoint=False)
def replace_group(group: ScimGroup, document: dict) -> Outcome:
    """PUT (RFC 7644 §3.5.1): attributes and the member list become exactly as given."""
    outcome = Outcome(changes=_save_group_document(group, document))
    members = _apply_member_steps(group, [_MemberStep("replace", document["members"])], outcome)
    if not outcome.changes and members:
        _touch_group(group)
    events.group_changed(group, changes=outcome.changes, members=members)
    return outcome


def _member_step(op: str, path: Path | None, value: object) -> _MemberStep:
    """The membership change one operation asks for.

    Azure removes members two ways (docs/azure-scim-client.md §3.1): ``path: "members"`` with a
    value list (legacy), which removes only those listed and never empties the group, and
    ``path: 'members[value eq "id"]'`` without a value. Only a ``remove`` of ``members`` with no
    value and no filter removes everyone (RFC 7644 §3.5.2.2).
    """
    if path is not None and path.sub is not None:
        raise InvalidPath("members sub-attributes cannot be changed")
    if op == "remove":
        if path is not None and path.conditions is not None:
            ids = [v for attr, v in path.conditions if attr.lower() == "value"]
            if len(ids) != len(path.conditions) or not all(isinstance(v, str) for v in ids):
                raise InvalidPath('remove members with members[value eq "id"]')
            return _MemberStep("remove", ids)
        if value is None:
            return _MemberStep("remove_all")
        return _MemberStep("remove", documents.member_ids(value))
    if path is not None and path.conditions is not None:
        raise InvalidPath("add and replace of members take no filter; send the members as value")
    ids = documents.member_ids(value if value is not None else [])
    return _MemberStep("add" if op == "add" else "replace", ids)


def _coalesce(steps: list[_MemberStep]) -> list[_MemberStep]:
    """Merge each run of adjacent adds, and each run of adjacent removes, into one step.

    Entra removes members with one ``members[value eq "id"]`` operation per member, and a
    client may add them one operation each: merged, a PATCH of a hundred such operations costs
    the queries of one. Adds commute with adds and removes with removes, so the result is the
    same; an add is never merged across a remove (add X, remove X, add X ends with X).
    """
    merged: list[_MemberStep] = []
    for step in steps:
        previous = merged[-1] if merged else None
        if (
            previous is not None
            and step.action in {"add", "remove"}
            and step.action == previous.action
        ):
            merged[-1] = _MemberStep(step.action, [*previous.ids, *step.ids])
        else:
            merged.append(step)
    return merged


@transaction.atomic(savepoint=False)
def patch_group(group: ScimGroup, operations: list[dict]) -> Outcome:
    """Apply PATCH ``operations``: member changes and attribute changes, all or nothing.

    Many members in one operation cost the same few queries as one member.
    """
    steps: list[_MemberStep] = []
    attribute_operations: list[dict] = []
    for operation in operations:
        op, raw_path, value = operation["op"], operation["path"], operation["value"]
        if raw_path is None:
            rest = {}
            for key, item in value.items():
                if key.lower() == "members":
                    steps.append(_member_step(op, None, item))
                else:
                    rest[key] = item
            if rest:
                attribute_operations.append({"op": op, "path": None, "value": rest})
            continue
        path = parse_path(raw_path, documents.CORE_GROUP)
        if path.urn is None and path.attr.lower() == "members":
            steps.append(_member_step(op, path, value))
        else:
            attribute_operations.append(operation)
    steps = _coalesce(steps)
    outcome = Outcome()
    if attribute_operations:
        start = documents.declared_only(documents.group_document(group), documents.CORE_GROUP)
        start["id"] = str(group.scim_id)
        start["meta"] = documents.meta("Group", group, f"/Groups/{group.scim_id}")
        patched = apply_patch(start, attribute_operations, documents.CORE_GROUP)
        patched["members"] = []
        outcome.changes = _save_group_document(group, documents.clean_group(patched))
    members = _apply_member_steps(group, steps, outcome) if steps else events.MemberChanges()
    if not outcome.changes and members:
        _touch_group(group)
    events.group_changed(group, changes=outcome.changes, members=members)
    logger.info(
        "scim group patched org=%s id=%s added=%s removed=%s",
        group.organization_id,
        group.scim_id,
        outcome.members_added,
        outcome.members_removed,
    )
    return outcome


@transaction.atomic(savepoint=False)
def delete_group(group: ScimGroup) -> None:
    """Hard delete (RFC 7644 §3.6); the users stay."""
    GroupMembership.objects.filter(group=group).delete()
    ScimGroup.objects.filter(pk=group.pk).delete()
    events.group_deleted(group)
    logger.info("scim group deleted org=%s id=%s", group.organization_id, group.scim_id)
