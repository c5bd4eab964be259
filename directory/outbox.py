"""Writing directory events in the transaction of the change (the transactional outbox).

``scim.services`` calls these once per write, after the change is made and only when something
changed, inside its transaction: a write that fails or rolls back takes its events with it, and
a PATCH that changes nothing writes none. The cost is bounded by the request, never the tenant:
one upsert allocates every position of the write, one bulk insert writes the events, one query
finds the endpoints and one bulk insert queues their deliveries, whatever the number of members.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.db import connection
from django.db.models import Q
from django.utils import timezone

from .models import DirectoryEvent, EventCounter, EventType, WebhookDelivery, WebhookEndpoint

if TYPE_CHECKING:
    from scim.models import ScimGroup, ScimUser

logger = logging.getLogger(__name__)


@dataclass
class _Draft:
    type: EventType
    resource_type: str
    resource_id: Any
    external_id: str | None
    name: str
    data: dict
    changes: list[dict] = field(default_factory=list)


def _user_ref(user: Any) -> dict:
    return {"id": str(user.scim_id), "externalId": user.external_id, "userName": user.user_name}


def _group_ref(group: Any) -> dict:
    return {
        "id": str(group.scim_id),
        "externalId": group.external_id,
        "displayName": group.display_name,
    }


def _user_draft(kind: EventType, user: ScimUser, state: dict, changes: list[dict]) -> _Draft:
    return _Draft(kind, "User", user.scim_id, user.external_id, user.user_name, state, changes)


def _group_draft(kind: EventType, group: ScimGroup, state: dict, changes: list[dict]) -> _Draft:
    return _Draft(
        kind, "Group", group.scim_id, group.external_id, group.display_name, state, changes
    )


def allocate_positions(organization_id: int, count: int) -> int:
    """Reserve ``count`` positions for ``organization_id``; returns the last one.

    One ``INSERT … ON CONFLICT DO UPDATE … RETURNING`` (PostgreSQL, and SQLite ≥ 3.35): the
    counter row stays locked until the caller's transaction ends, so a second writer of the
    same organization waits here and gets the next positions only once this one committed.
    """
    table = connection.ops.quote_name(EventCounter._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (organization_id, last_position) VALUES (%s, %s) "  # noqa: S608
            f"ON CONFLICT (organization_id) DO UPDATE "
            f"SET last_position = {table}.last_position + EXCLUDED.last_position "
            f"RETURNING last_position",
            [organization_id, count],
        )
        return cursor.fetchone()[0]


def _write(organization_id: int, drafts: Sequence[_Draft]) -> list[DirectoryEvent]:
    if not drafts:
        return []
    if not connection.in_atomic_block:
        raise RuntimeError("directory events are written inside the change's transaction")
    last = allocate_positions(organization_id, len(drafts))
    now = timezone.now()
    events = DirectoryEvent.objects.bulk_create(
        [
            DirectoryEvent(
                organization_id=organization_id,
                position=last - len(drafts) + 1 + index,
                type=draft.type,
                resource_type=draft.resource_type,
                resource_id=draft.resource_id,
                external_id=draft.external_id,
                name=draft.name,
                data=draft.data,
                changes=draft.changes,
                created_at=now,
            )
            for index, draft in enumerate(drafts)
        ]
    )
    _queue_deliveries(organization_id, events)
    return events


def _queue_deliveries(organization_id: int, events: list[DirectoryEvent]) -> None:
    """A pending delivery per event and enabled endpoint, and a wake-up for each stream.

    The wake-up is a task row written by django-tasks' database backend in this same
    transaction, so a worker sees it exactly when the events are committed.
    """
    endpoint_ids = list(
        WebhookEndpoint.objects.filter(
            Q(organization_id=organization_id) | Q(organization__isnull=True), is_enabled=True
        ).values_list("pk", flat=True)
    )
    if not endpoint_ids:
        return
    WebhookDelivery.objects.bulk_create(
        [
            WebhookDelivery(
                endpoint_id=endpoint_id,
                event_id=event.pk,
                organization_id=organization_id,
                position=event.position,
                next_attempt_at=event.created_at,
            )
            for endpoint_id in endpoint_ids
            for event in events
        ]
    )
    from .tasks import deliver_stream_task

    for endpoint_id in endpoint_ids:
        deliver_stream_task.enqueue(endpoint_id, organization_id)


# --- what scim.services calls ----------------------------------------------------------------


def user_created(user: ScimUser, state: dict) -> None:
    _write(user.organization_id, [_user_draft(EventType.USER_CREATED, user, state, [])])


def user_changed(user: ScimUser, state: dict, changes: list[dict]) -> None:
    """``user.deactivated``/``user.reactivated`` when ``active`` flipped, and ``user.updated``
    with the other changed attributes."""
    drafts = []
    others = [change for change in changes if change["attribute"] != "active"]
    flip = next((change for change in changes if change["attribute"] == "active"), None)
    if flip is not None and (flip["old"] is False) != (flip["new"] is False):
        kind = EventType.USER_DEACTIVATED if flip["new"] is False else EventType.USER_REACTIVATED
        drafts.append(_user_draft(kind, user, state, [flip]))
    elif flip is not None:
        others.append(flip)  # unassigned <-> true: still active, an ordinary update
    if others:
        drafts.append(_user_draft(EventType.USER_UPDATED, user, state, others))
    _write(user.organization_id, drafts)


def user_deleted(user: ScimUser, state: dict) -> None:
    _write(user.organization_id, [_user_draft(EventType.USER_DELETED, user, state, [])])


def _member_drafts(group: ScimGroup, kind: EventType, user_pks: Iterable[int]) -> list[_Draft]:
    from scim.models import ScimUser

    pks = sorted(set(user_pks))
    if not pks:
        return []
    members = ScimUser.objects.filter(pk__in=pks).only("scim_id", "external_id", "user_name")
    ref = _group_ref(group)
    return [
        _group_draft(kind, group, {"group": ref, "member": _user_ref(member)}, [])
        for member in sorted(members, key=lambda member: member.pk)
    ]


def group_changed(
    group: ScimGroup,
    state: dict,
    *,
    created: bool = False,
    changes: list[dict] | None = None,
    added: Iterable[int] = (),
    removed: Iterable[int] = (),
) -> None:
    """``group.created`` or ``group.updated`` (when attributes changed), then one
    ``group.member_removed``/``group.member_added`` per member."""
    drafts = []
    if created:
        drafts.append(_group_draft(EventType.GROUP_CREATED, group, state, []))
    elif changes:
        drafts.append(_group_draft(EventType.GROUP_UPDATED, group, state, changes))
    added, removed = list(added), list(removed)
    if added and removed:
        # A user both removed and re-added by one request ends up a member: nothing to say.
        both = set(added) & set(removed)
        added = [pk for pk in added if pk not in both]
        removed = [pk for pk in removed if pk not in both]
    drafts += _member_drafts(group, EventType.GROUP_MEMBER_REMOVED, removed)
    drafts += _member_drafts(group, EventType.GROUP_MEMBER_ADDED, added)
    _write(group.organization_id, drafts)


def group_deleted(group: ScimGroup, state: dict) -> None:
    _write(group.organization_id, [_group_draft(EventType.GROUP_DELETED, group, state, [])])
