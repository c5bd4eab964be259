"""Writing directory events in the transaction of the change (the transactional outbox).

The SCIM layer calls these once per write, after the change is made and only when something
changed, inside its transaction: a write that fails or rolls back takes its events with it, and
a PATCH that changes nothing writes none. The cost is bounded by the request, never the tenant:
one upsert allocates every position of the write, one bulk insert writes the events, one query
finds the endpoints and one bulk insert queues their deliveries, whatever the number of members
(on PostgreSQL all four are one statement, ``_write_postgresql``, and a user create's own row
goes in the same statement: ``user_created_with_row``). The members added to or
removed from a group by one write are one row spanning a position per member
(``DirectoryEvent.expand`` gives readers one event each), so a 1,000-member PATCH writes one
row and one delivery per endpoint, not 1,000 of each.

``directory`` sits below ``scim`` and knows none of its models: a caller names each user or
group as a ``Resource`` (plain values) and passes its state as a dict.
"""

from __future__ import annotations

import enum
import functools
import json
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection
from django.db.models import Q
from django.utils import timezone

from core.fixedinsert import CarriedInsert

from .models import (
    DeliveryStatus,
    DirectoryEvent,
    EventCounter,
    EventType,
    WebhookDelivery,
    WebhookEndpoint,
)

logger = logging.getLogger(__name__)


class ResourceType(enum.StrEnum):
    """What an event is about; stored as ``DirectoryEvent.resource_type``."""

    USER = "User"
    GROUP = "Group"


@dataclass(frozen=True)
class Resource:
    """A user or a group as its events name it.

    ``id`` is its SCIM id; ``name`` its ``userName`` (users) or ``displayName`` (groups).
    """

    type: ResourceType
    id: uuid.UUID
    external_id: str | None
    name: str

    def reference(self) -> dict:
        """How a member event's ``data`` names the group and the member."""
        name_key = "userName" if self.type is ResourceType.USER else "displayName"
        return {"id": str(self.id), "externalId": self.external_id, name_key: self.name}


@dataclass
class _Draft:
    """One row to write: an event, or (``span`` > 1 or ``data["members"]``) the members of one
    write's member change, one position each."""

    type: EventType
    resource: Resource
    data: dict
    changes: list[dict] = field(default_factory=list)
    span: int = 1


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


def _offsets(drafts: Sequence[_Draft]) -> tuple[list[int], int]:
    """Each draft's first position within the write (from 1), and how many the write takes."""
    offsets, taken = [], 0
    for draft in drafts:
        offsets.append(taken + 1)
        taken += draft.span
    return offsets, taken


def _write(organization_id: int, drafts: Sequence[_Draft]) -> None:
    if not drafts:
        return
    if not connection.in_atomic_block:
        raise RuntimeError("directory events are written inside the change's transaction")
    now = timezone.now()
    if connection.vendor == "postgresql":
        _write_postgresql(organization_id, drafts, now)
        return
    offsets, total = _offsets(drafts)
    before = allocate_positions(organization_id, total) - total
    rows = [
        DirectoryEvent(
            organization_id=organization_id,
            position=before + first,
            last_position=before + first + draft.span - 1,
            type=draft.type,
            resource_type=draft.resource.type.value,
            resource_id=draft.resource.id,
            external_id=draft.resource.external_id,
            name=draft.resource.name,
            data=draft.data,
            changes=draft.changes,
            created_at=now,
        )
        for first, draft in zip(offsets, drafts, strict=True)
    ]
    _queue_deliveries(organization_id, DirectoryEvent.objects.bulk_create(rows))


def _write_postgresql(organization_id: int, drafts: Sequence[_Draft], now: datetime) -> None:
    """``allocate_positions``, the events and their deliveries in one statement.

    Data-modifying CTEs: the counter upsert (which keeps the counter row locked until the
    transaction ends, exactly as ``allocate_positions``), one ``INSERT … SELECT`` of the events
    from ``jsonb_to_recordset`` of a single JSON array (one parameter, encoded by one
    ``json.dumps`` call, whatever the number of events: no model instance and no per-element
    array quoting per event), and one ``INSERT … SELECT`` of a pending delivery per event and
    enabled endpoint, which answers the endpoints to wake. A user create is one round trip
    instead of three. Each row carries its offset in the write (``first``) and its ``span``, so
    a span takes its positions from the one upsert. ``public_id`` is random as the model's
    default makes it (``gen_random_uuid()``).
    """
    with connection.cursor() as cursor:
        cursor.execute(_postgresql_write_sql(), _postgresql_params(organization_id, drafts, now))
        endpoint_ids = [row[0] for row in cursor.fetchall()]
    _wake_streams(organization_id, endpoint_ids)


def _write_postgresql_with_row(
    organization_id: int, drafts: Sequence[_Draft], now: datetime, row: CarriedInsert
) -> None:
    """``_write_postgresql`` with ``row`` (the changed resource's own ``INSERT``) as its first
    ``WITH`` query: the row and its events in one round trip. PostgreSQL runs every
    data-modifying ``WITH`` query to completion, and a failure in any (the row's unique index)
    fails the whole statement, so nothing of it is written."""
    with connection.cursor() as cursor:
        cursor.execute(
            _postgresql_write_with_row_sql(row.sql),
            {**row.params, **_postgresql_params(organization_id, drafts, now)},
        )
        key, endpoint_ids = cursor.fetchone()
    row.done(key)
    _wake_streams(organization_id, endpoint_ids)


def _postgresql_params(organization_id: int, drafts: Sequence[_Draft], now: datetime) -> dict:
    offsets, total = _offsets(drafts)
    rows = [
        {
            "first": first,
            "span": draft.span,
            "type": str(draft.type),
            "resource_type": draft.resource.type.value,
            "resource_id": str(draft.resource.id),
            "external_id": draft.resource.external_id,
            "name": draft.resource.name,
            "data": draft.data,
            "changes": draft.changes,
        }
        for first, draft in zip(offsets, drafts, strict=True)
    ]
    return {
        "org": organization_id,
        "count": total,
        "now": now,
        "pending": DeliveryStatus.PENDING.value,
        "events": json.dumps(rows),
    }


@functools.cache
def _postgresql_write_sql() -> str:
    """``_write_postgresql``'s statement, the same text for every write (built once)."""
    return (
        f"WITH {_postgresql_write_ctes()} "  # noqa: S608 - quoted names only
        "SELECT DISTINCT endpoint_id FROM queued ORDER BY endpoint_id"
    )


@functools.lru_cache(maxsize=8)
def _postgresql_write_with_row_sql(row_sql: str) -> str:
    """``_write_postgresql_with_row``'s statement for one row's ``INSERT`` (built once)."""
    return (
        f"WITH resource AS ({row_sql}), {_postgresql_write_ctes()} "  # noqa: S608 - quoted names only
        "SELECT (SELECT * FROM resource), "
        "ARRAY(SELECT DISTINCT endpoint_id FROM queued ORDER BY endpoint_id)"
    )


@functools.cache
def _postgresql_write_ctes() -> str:
    """``_write_postgresql``'s ``WITH`` queries, the same text for every write (built once)."""
    quote = connection.ops.quote_name
    counter = quote(EventCounter._meta.db_table)
    events = quote(DirectoryEvent._meta.db_table)
    endpoints = quote(WebhookEndpoint._meta.db_table)
    deliveries = quote(WebhookDelivery._meta.db_table)
    return (
        f"counter AS (INSERT INTO {counter} (organization_id, last_position) "  # noqa: S608
        "VALUES (%(org)s, %(count)s) ON CONFLICT (organization_id) DO UPDATE "
        f"SET last_position = {counter}.last_position + EXCLUDED.last_position "
        "RETURNING last_position), "
        f"written AS (INSERT INTO {events} (public_id, organization_id, position, "
        "last_position, type, resource_type, resource_id, external_id, name, data, changes, "
        "created_at) "
        "SELECT gen_random_uuid(), %(org)s, counter.last_position - %(count)s + e.first, "
        "counter.last_position - %(count)s + e.first + e.span - 1, e.type, "
        "e.resource_type, e.resource_id, e.external_id, e.name, e.data, e.changes, %(now)s "
        "FROM counter CROSS JOIN jsonb_to_recordset(%(events)s::jsonb) "
        "AS e(first bigint, span bigint, type varchar, resource_type varchar, resource_id uuid, "
        "external_id varchar, name varchar, data jsonb, changes jsonb) "
        "ORDER BY e.first "
        "RETURNING id, position), "
        f"endpoint AS (SELECT id, created_at FROM {endpoints} WHERE is_enabled "
        "AND (organization_id = %(org)s OR organization_id IS NULL)), "
        f"queued AS (INSERT INTO {deliveries} (endpoint_id, event_id, organization_id, "
        "position, status, attempts, next_attempt_at, last_error) "
        "SELECT endpoint.id, written.id, %(org)s, written.position, %(pending)s, 0, %(now)s, '' "
        "FROM endpoint CROSS JOIN written ORDER BY endpoint.created_at DESC, written.position "
        "RETURNING endpoint_id)"
    )


def _enabled_endpoint_ids(organization_id: int) -> list[int]:
    return list(
        WebhookEndpoint.objects.filter(
            Q(organization_id=organization_id) | Q(organization__isnull=True), is_enabled=True
        ).values_list("pk", flat=True)
    )


def _queue_deliveries(organization_id: int, events: list[DirectoryEvent]) -> None:
    """A pending delivery per event and enabled endpoint, and a wake-up for each stream.

    The wake-up is a task row written by django-tasks' database backend in this same
    transaction, so a worker sees it exactly when the events are committed.
    """
    endpoint_ids = _enabled_endpoint_ids(organization_id)
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
    _wake_streams(organization_id, endpoint_ids)


def _wake_streams(organization_id: int, endpoint_ids: list[int]) -> None:
    if not endpoint_ids:
        return
    from .tasks import deliver_stream_task

    for endpoint_id in endpoint_ids:
        deliver_stream_task.enqueue(endpoint_id, organization_id)


# --- what the SCIM layer calls ---------------------------------------------------------------


def user_created_with_row(
    organization_id: int, user: Resource, state: dict, row: CarriedInsert
) -> None:
    """``user.created`` for a new user, with its own row (``row``, from ``core.fixedinsert``)
    written first: on PostgreSQL by the same statement, which runs it as its first ``WITH``
    query and tells it the key it returned (one round trip for the create instead of two);
    elsewhere by ``row.alone()`` just before the events."""
    if not connection.in_atomic_block:
        raise RuntimeError("directory events are written inside the change's transaction")
    drafts = [_Draft(EventType.USER_CREATED, user, state)]
    if connection.vendor == "postgresql":
        _write_postgresql_with_row(organization_id, drafts, timezone.now(), row)
        return
    row.alone()
    _write(organization_id, drafts)


def user_changed(organization_id: int, user: Resource, state: dict, changes: list[dict]) -> None:
    """``user.deactivated``/``user.reactivated`` when ``active`` flipped, and ``user.updated``
    with the other changed attributes."""
    drafts = []
    others = [change for change in changes if change["attribute"] != "active"]
    flip = next((change for change in changes if change["attribute"] == "active"), None)
    if flip is not None and (flip["old"] is False) != (flip["new"] is False):
        kind = EventType.USER_DEACTIVATED if flip["new"] is False else EventType.USER_REACTIVATED
        drafts.append(_Draft(kind, user, state, [flip]))
    elif flip is not None:
        others.append(flip)  # unassigned <-> true: still active, an ordinary update
    if others:
        drafts.append(_Draft(EventType.USER_UPDATED, user, state, others))
    _write(organization_id, drafts)


def user_deleted(organization_id: int, user: Resource, state: dict) -> None:
    _write(organization_id, [_Draft(EventType.USER_DELETED, user, state)])


# The most members one event row holds: a full push of a 20,000-member group is 20 rows, so a
# reader that wants one page of events never parses more than this many members to get it.
MAX_SPAN = 1000


def _member_drafts(group: Resource, kind: EventType, members: Sequence[Resource]) -> list[_Draft]:
    """Spans of at most ``MAX_SPAN`` of ``members``, in the order given (none without members)."""
    ref = group.reference()
    drafts = []
    for start in range(0, len(members), MAX_SPAN):
        chunk = [member.reference() for member in members[start : start + MAX_SPAN]]
        drafts.append(_Draft(kind, group, {"group": ref, "members": chunk}, span=len(chunk)))
    return drafts


def group_changed(
    organization_id: int,
    group: Resource,
    state: dict,
    *,
    created: bool = False,
    changes: list[dict] | None = None,
    added: Sequence[Resource] = (),
    removed: Sequence[Resource] = (),
) -> None:
    """``group.created`` or ``group.updated`` (when attributes changed), then one
    ``group.member_removed``/``group.member_added`` per member, in the order given (written as
    one span per direction).

    ``added`` and ``removed`` are the request's net change: a user both removed and re-added
    by one request ends up a member and is in neither (the caller leaves them out).
    """
    drafts = []
    if created:
        drafts.append(_Draft(EventType.GROUP_CREATED, group, state))
    elif changes:
        drafts.append(_Draft(EventType.GROUP_UPDATED, group, state, changes))
    drafts += _member_drafts(group, EventType.GROUP_MEMBER_REMOVED, removed)
    drafts += _member_drafts(group, EventType.GROUP_MEMBER_ADDED, added)
    _write(organization_id, drafts)


def group_deleted(organization_id: int, group: Resource, state: dict) -> None:
    _write(organization_id, [_Draft(EventType.GROUP_DELETED, group, state)])
