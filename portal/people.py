""" "Why isn't this user in Kno2fy?": one person's state, attributes, groups and history.

A person is found the way SCIM matching finds them (``scim.identity``), so the portal and a
SCIM filter never disagree about who "Ann@Clinic.example" is. Their history is every event
filed under their SCIM id, every event filed under their name by the identity rule (a create
refused because the name exists in another case, a lookup by filter), and every membership
change that named them. Each page costs a fixed number of queries, whatever the tenant size.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Q, QuerySet

from organizations.models import Organization
from scim import documents
from scim.identity import find_users, identity_key
from scim.models import GroupMembership, ScimGroup, ScimUser

from .models import MemberChange, Operation, SyncEvent, SyncEventMember

ACTIVE = "active"
DEACTIVATED = "deactivated"
DELETED = "deleted"
REFUSED = "refused"
LOOKED_UP = "looked_up"
# Only named in a refused request other than a create (a member id of a refused group PATCH).
REFUSED_CHANGE = "refused_change"
NEVER_SENT = "never_sent"

MATCHES_SHOWN = 10
GROUPS_SHOWN = 100
MEMBER_EVENTS_READ = 500


@dataclass
class Membership:
    """One group a person is or was in, with when the membership began and ended."""

    group_id: str
    name: str
    current: bool
    began: datetime | None = None
    ended: datetime | None = None


@dataclass
class Person:
    """What the portal knows about one person of an organization."""

    name: str
    user: ScimUser | None
    state: str
    since: datetime | None = None
    state_event: SyncEvent | None = None
    attributes: list[tuple[str, str]] = field(default_factory=list)
    memberships: list[Membership] = field(default_factory=list)
    more_groups: bool = False
    # Partial failures of an existing user: the client's create refused because this user
    # exists (a duplicate in the source directory), and a member change naming them that was
    # refused and not since applied (the client retries it).
    refused_create: SyncEvent | None = None
    refused_member_change: SyncEventMember | None = None


def matches(organization: Organization, text: str) -> list[ScimUser]:
    """Users whose userName, work email or externalId is ``text`` (SCIM's identity rule)."""
    return list(find_users(organization, text).order_by("user_name")[: MATCHES_SHOWN + 1])


def _keys(*names: str | None) -> list[str]:
    return sorted({identity_key(name) for name in names if name})


def person_events(organization: Organization, person: Person) -> QuerySet[SyncEvent]:
    """Every event about ``person``, newest first (see the module docstring)."""
    user = person.user
    keys = _keys(
        person.name,
        *((user.user_name, user.external_id, user.work_email) if user is not None else ()),
    )
    match = Q(resource_type="User", subject_key__in=keys)
    # Every identifier Azure sent leads to its requests, refused ones included: a create's
    # externalId (kept verbatim: SCIM compares it case-sensitively) and a member id named in a
    # group PATCH, even one that names nobody we hold.
    external_ids = sorted(
        {person.name, *((user.external_id,) if user and user.external_id else ())}
    )
    match |= Q(resource_type="User", external_id__in=external_ids)
    if user is None:
        match |= Q(
            pk__in=SyncEventMember.objects.filter(
                organization=organization, member_id=person.name
            ).values("event_id")
        )
    if user is not None:
        scim_id = str(user.scim_id)
        match |= Q(resource_type="User", resource_id=scim_id) | Q(
            pk__in=(
                SyncEventMember.objects.filter(organization=organization, member_id=scim_id).values(
                    "event_id"
                )
            )
        )
    return (
        SyncEvent.objects.for_organization(organization)
        .filter(match)
        .order_by("-created_at", "-id")
    )


def flatten(value: object, prefix: str = "") -> list[tuple[str, str]]:
    """A SCIM document as ``(attribute path, value)`` rows, as an admin reads them."""
    if isinstance(value, dict):
        rows = []
        for key, item in value.items():
            if key in {"schemas", "meta", "groups"}:
                continue
            label = key.rsplit(":", 1)[-1] if ":" in key else key
            rows.extend(flatten(item, f"{prefix}{label}." if prefix or label else ""))
        return rows
    name = prefix.rstrip(".")
    if isinstance(value, list):
        parts = []
        for item in value:
            if isinstance(item, dict):
                kind = item.get("type") or item.get("display") or ""
                shown = item.get("value", "")
                parts.append(f"{shown} ({kind})" if kind else str(shown))
            else:
                parts.append(str(item))
        return [(name, ", ".join(parts))]
    if isinstance(value, bool):
        return [(name, "true" if value else "false")]
    return [(name, "" if value is None else str(value))]


def _memberships(organization: Organization, user: ScimUser) -> tuple[list[Membership], bool]:
    current = list(
        GroupMembership.objects.filter(user=user)
        .select_related("group")
        .order_by("group__display_name")[: GROUPS_SHOWN + 1]
    )
    more = len(current) > GROUPS_SHOWN
    found: dict[str, Membership] = {
        str(m.group.scim_id): Membership(str(m.group.scim_id), m.group.display_name, True)
        for m in current[:GROUPS_SHOWN]
    }
    changes = list(
        SyncEventMember.objects.filter(organization=organization, member_id=str(user.scim_id))
        .exclude(change=MemberChange.REFUSED)
        .select_related("event")
        .only("group_id", "change", "created_at", "event__subject")
        .order_by("-created_at", "-id")[:MEMBER_EVENTS_READ]
    )
    for change in reversed(changes):  # oldest first
        membership = found.get(change.group_id)
        if membership is None:
            membership = found[change.group_id] = Membership(
                change.group_id, change.event.subject or change.group_id, False
            )
        if change.change == MemberChange.ADDED:
            membership.began, membership.ended = change.created_at, None
        else:
            membership.ended = change.created_at
    past = [m.group_id for m in found.values() if not m.current]
    if past:
        rows = ScimGroup.objects.filter(
            organization=organization, scim_id__in=[gid for gid in past if is_uuid(gid)]
        ).values_list("scim_id", "display_name")
        names = {str(scim_id): name for scim_id, name in rows}
        for membership in found.values():
            membership.name = names.get(membership.group_id, membership.name)
    ordered = sorted(found.values(), key=lambda m: (not m.current, m.name.casefold()))
    return ordered, more


def _partial_failures(
    organization: Organization, user: ScimUser
) -> tuple[SyncEvent | None, SyncEventMember | None]:
    """The latest create refused for ``user``'s name since they exist, and the latest refused
    member change naming them with no later change of that group's membership of them."""
    refused_create = (
        SyncEvent.objects.for_organization(organization)
        .filter(
            resource_type="User",
            subject_key__in=_keys(user.user_name),
            operation=Operation.CREATE_USER,
            succeeded=False,
            created_at__gt=user.created_at,
        )
        .order_by("-created_at", "-id")
        .first()
    )
    named = SyncEventMember.objects.filter(organization=organization, member_id=str(user.scim_id))
    refused = (
        named.filter(change=MemberChange.REFUSED)
        .select_related("event")
        .order_by("-created_at", "-id")
        .first()
    )
    if refused is not None and (
        named.filter(group_id=refused.group_id, created_at__gt=refused.created_at)
        .exclude(change=MemberChange.REFUSED)
        .exists()
    ):
        refused = None
    return refused_create, refused


def is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def person_for(organization: Organization, *, user: ScimUser | None, name: str) -> Person:
    """``user``'s page, or, with no user, what the history knows about the name ``name``."""
    if user is not None:
        person = Person(name=user.user_name, user=user, state=ACTIVE)
        person.attributes = flatten(documents.user_document(user))
        person.memberships, person.more_groups = _memberships(organization, user)
        person.refused_create, person.refused_member_change = _partial_failures(organization, user)
        if not user.is_active:
            person.state = DEACTIVATED
            person.state_event = (
                SyncEvent.objects.for_organization(organization)
                .filter(
                    resource_type="User",
                    resource_id=str(user.scim_id),
                    succeeded=True,
                    operation__in=[Operation.DEACTIVATE_USER, Operation.REACTIVATE_USER],
                )
                .order_by("-created_at", "-id")
                .first()
            )
            if person.state_event is not None and (
                person.state_event.operation != Operation.DEACTIVATE_USER
            ):
                person.state_event = None
            person.since = person.state_event.created_at if person.state_event else user.updated_at
        return person
    person = Person(name=name, user=None, state=NEVER_SENT)
    events = person_events(organization, person)
    latest = events.filter(
        succeeded=True,
        operation__in=[
            Operation.CREATE_USER,
            Operation.DEACTIVATE_USER,
            Operation.REACTIVATE_USER,
            Operation.DELETE_USER,
        ],
    ).first()
    if latest is not None:
        person.state = {Operation.DELETE_USER: DELETED, Operation.DEACTIVATE_USER: DEACTIVATED}.get(
            latest.operation, ACTIVE
        )
        if person.state != ACTIVE:
            person.since, person.state_event = latest.created_at, latest
    elif events.filter(operation=Operation.CREATE_USER).exists():
        person.state = REFUSED
    elif events.filter(succeeded=False).exists():
        person.state = REFUSED_CHANGE
    elif events.exists():
        person.state = LOOKED_UP
    return person
