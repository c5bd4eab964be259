"""What a SCIM write tells the directory outbox, in the outbox's plain values.

``directory`` sits below ``scim`` and knows none of its models: these name users and groups as
``outbox.Resource`` values, with their documents as state, and call the outbox inside the
write's transaction (``scim.services``). The member lookup of a membership change is one query
per direction, whatever the number of members.
"""

from __future__ import annotations

from collections.abc import Iterable

from directory import outbox

from . import documents
from .models import ScimGroup, ScimUser


def user_resource(user: ScimUser) -> outbox.Resource:
    return outbox.Resource(outbox.ResourceType.USER, user.scim_id, user.external_id, user.user_name)


def group_resource(group: ScimGroup) -> outbox.Resource:
    return outbox.Resource(
        outbox.ResourceType.GROUP, group.scim_id, group.external_id, group.display_name
    )


def user_created(user: ScimUser) -> None:
    outbox.user_created(user.organization_id, user_resource(user), documents.user_document(user))


def user_changed(user: ScimUser, changes: list[dict]) -> None:
    outbox.user_changed(
        user.organization_id, user_resource(user), documents.user_document(user), changes
    )


def user_deleted(user: ScimUser) -> None:
    outbox.user_deleted(user.organization_id, user_resource(user), documents.user_document(user))


def _members(user_pks: Iterable[int]) -> list[outbox.Resource]:
    """The users ``user_pks`` as resources, in pk order (one query, none when empty)."""
    pks = sorted(set(user_pks))
    if not pks:
        return []
    members = ScimUser.objects.filter(pk__in=pks).only("scim_id", "external_id", "user_name")
    return [user_resource(member) for member in sorted(members, key=lambda member: member.pk)]


def group_changed(
    group: ScimGroup,
    *,
    created: bool = False,
    changes: list[dict] | None = None,
    added: Iterable[int] = (),
    removed: Iterable[int] = (),
) -> None:
    """``added``/``removed`` are user pks; a user both removed and re-added by one request
    ends up a member, so the events say nothing of them."""
    added, removed = list(added), list(removed)
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
        removed=_members(removed),
        added=_members(added),
    )


def group_deleted(group: ScimGroup) -> None:
    outbox.group_deleted(
        group.organization_id, group_resource(group), documents.group_document(group)
    )
