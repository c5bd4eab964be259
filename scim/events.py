"""What a SCIM write tells the directory outbox, in the outbox's plain values.

``directory`` sits below ``scim`` and knows none of its models: these name users and groups as
``outbox.Resource`` values, with their documents as state, and call the outbox inside the
write's transaction (``scim.services``). The member lookup of a membership change is one query
per direction, whatever the number of members, and none for members the write already read.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from directory import outbox

from . import documents
from .models import ScimGroup, ScimUser

Member = outbox.Resource  # a user as a membership event names it


def member(scim_id: uuid.UUID, external_id: str | None, user_name: str) -> Member:
    return outbox.Resource(outbox.ResourceType.USER, scim_id, external_id, user_name)


def user_resource(user: ScimUser) -> outbox.Resource:
    return member(user.scim_id, user.external_id, user.user_name)


def group_resource(group: ScimGroup) -> outbox.Resource:
    return outbox.Resource(
        outbox.ResourceType.GROUP, group.scim_id, group.external_id, group.display_name
    )


def user_inserted_and_created(user: ScimUser) -> None:
    """``user``'s row and its ``user.created`` event, in one statement on PostgreSQL."""
    outbox.user_created_with_row(
        user.organization_id,
        user_resource(user),
        documents.user_document(user),
        user.carried_insert(),
    )


def user_changed(user: ScimUser, changes: list[dict]) -> None:
    outbox.user_changed(
        user.organization_id, user_resource(user), documents.user_document(user), changes
    )


def user_deleted(user: ScimUser) -> None:
    outbox.user_deleted(user.organization_id, user_resource(user), documents.user_document(user))


@dataclass
class MemberChanges:
    """What a membership write did: the user pks added and removed, and the members it
    already read (``known``), so their events need no second lookup."""

    added: list[int] = field(default_factory=list)
    removed: list[int] = field(default_factory=list)
    known: dict[int, Member] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.added or self.removed)


def _members(user_pks: Iterable[int], known: Mapping[int, Member]) -> list[Member]:
    """The users ``user_pks`` as resources, in pk order: those in ``known`` as they are, the
    others with one query (none when every one is known)."""
    pks = sorted(set(user_pks))
    missing = [pk for pk in pks if pk not in known]
    looked_up: dict[int, Member] = {}
    if missing:
        rows = ScimUser.objects.filter(pk__in=missing).values_list(
            "pk", "scim_id", "external_id", "user_name"
        )
        looked_up = {pk: member(*rest) for pk, *rest in rows}
    return [m for pk in pks if (m := known.get(pk) or looked_up.get(pk)) is not None]


def group_changed(
    group: ScimGroup,
    *,
    created: bool = False,
    changes: list[dict] | None = None,
    members: MemberChanges | None = None,
) -> None:
    """A user both removed and re-added by one request ends up a member, so the events say
    nothing of them."""
    members = members or MemberChanges()
    added, removed = members.added, members.removed
    if added and removed:
        both = set(added) & set(removed)
        added = [pk for pk in added if pk not in both]
        removed = [pk for pk in removed if pk not in both]
    outbox.group_changed(
        group.organization_id,
        group_resource(group),
        documents.group_document(group),
        created=created,
        changes=changes,
        removed=_members(removed, members.known),
        added=_members(added, members.known),
    )


def group_deleted(group: ScimGroup) -> None:
    outbox.group_deleted(
        group.organization_id, group_resource(group), documents.group_document(group)
    )
