"""Grouping sync events into Azure AD provisioning cycles as they are recorded.

A cycle is a burst of requests separated from the previous burst by more than
``SYNC_CYCLE_IDLE_MINUTES`` of silence (Azure runs one about every 40 minutes,
docs/azure-scim-client.md §3.9). Cycles are assigned on insert: look at the organization's latest
cycle (one indexed row), extend it or open a new one, and bump its counters. Nothing ever re-scans
the events, so this stays cheap with millions of them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection
from django.db.models import F
from django.db.models.functions import Greatest

from core.db import multi_statement_cursor
from organizations.models import Organization
from scim.calls import Operation

from .models import SyncCycle, SyncEvent

_COUNTER_FOR_OPERATION = {
    Operation.CREATE_USER: "created",
    Operation.CREATE_GROUP: "created",
    Operation.UPDATE_USER: "updated",
    Operation.REACTIVATE_USER: "updated",
    Operation.UPDATE_GROUP: "updated",
    Operation.RENAME_GROUP: "updated",
    Operation.DEACTIVATE_USER: "deactivated",
    Operation.DELETE_USER: "deleted",
    Operation.DELETE_GROUP: "deleted",
}


def idle_gap() -> timedelta:
    return timedelta(minutes=settings.SYNC_CYCLE_IDLE_MINUTES)


def counter_increments(
    operation: str,
    *,
    succeeded: bool,
    members_added: int = 0,
    members_removed: int = 0,
) -> dict[str, int]:
    """How one event changes its cycle's counters."""
    increments = {"events": 1}
    if not succeeded:
        increments["failures"] = 1
        return increments
    counter = _COUNTER_FOR_OPERATION.get(operation)
    if counter:
        increments[counter] = 1
    if members_added or members_removed:
        increments["membership_changes"] = members_added + members_removed
    return increments


def assign_cycle(
    organization: Organization,
    at: datetime,
    increments: dict[str, int],
    *,
    until: datetime | None = None,
) -> SyncCycle:
    """The cycle an event at ``at`` belongs to, with its counters already bumped.

    ``until``: the last of several events from ``at`` on, none further than the idle gap from
    the one before, all counted in ``increments`` (a batch of ``portal.services.
    write_sync_events``); the cycle then runs at least until that last one.

    Must run inside a transaction: the latest cycle row is locked so concurrent requests of one
    organization extend the same cycle, and opening a new one locks the organization so a
    burst's first requests do not each open their own.
    """
    last = max(at, until) if until is not None else at
    latest = _latest_cycle(organization)
    if latest is not None and at - latest.last_event_at <= idle_gap():
        return _extend(latest, last, increments)
    # Opening a cycle is rare (once per burst) but its first requests arrive together: lock the
    # organization row so they open one cycle between them, then look again. NO KEY UPDATE, so
    # the lock does not block (and deadlock with) the foreign-key checks of concurrent inserts.
    Organization.objects.select_for_update(no_key=True).filter(pk=organization.pk).only("pk").get()
    latest = _latest_cycle(organization)
    if latest is not None and at - latest.last_event_at <= idle_gap():
        return _extend(latest, last, increments)
    return SyncCycle.objects.create(
        organization=organization, started_at=at, last_event_at=last, **increments
    )


def _latest_cycle(organization: Organization) -> SyncCycle | None:
    return (
        SyncCycle.objects.select_for_update()
        .filter(organization=organization)
        .order_by("-started_at")
        .only("pk", "started_at", "last_event_at")
        .first()
    )


def _extend(cycle: SyncCycle, at: datetime, increments: dict[str, int]) -> SyncCycle:
    SyncCycle.objects.filter(pk=cycle.pk).update(
        last_event_at=Greatest(F("last_event_at"), at),
        **{name: F(name) + amount for name, amount in increments.items()},
    )
    return cycle


def append_to_current_cycle(
    events: Sequence[Mapping[str, Any]], increments: dict[str, int]
) -> list[tuple[int, int]] | None:
    """Insert ``events`` into their organization's current cycle in one database round trip.

    ``events``: each one's ``SyncEvent`` field values by attribute name, as the fields store
    them (``portal.services.build_sync_event``); one organization's, in time order, none
    further than the idle gap from the one before (one call recorded at once, or a burst of a
    write-behind batch). ``increments``: how all of them together move the cycle's counters.

    The common case of recording: the organization's latest cycle is still open. On
    PostgreSQL, outside any transaction, one multi-statement query locks and extends that
    cycle, inserts the events and commits asynchronously, where the general path
    (``assign_cycle`` then an INSERT) takes six round trips and most of a SCIM request's time.
    Returns each event's primary key and cycle, in order; ``None``, having changed nothing,
    when there is no open cycle (or on another database), so the caller takes the general path.
    """
    if connection.vendor != "postgresql" or connection.in_atomic_block or not events:
        return None
    quote = connection.ops.quote_name
    fields = [
        f for f in SyncEvent._meta.concrete_fields if not f.primary_key and f.attname != "cycle_id"
    ]
    counters = list(increments.items())
    cycles, table = quote(SyncCycle._meta.db_table), quote(SyncEvent._meta.db_table)
    bumps = "".join(f", {quote(name)} = {quote(name)} + %s" for name, _ in counters)
    columns = ", ".join(quote(f.column) for f in fields)
    # The events are one JSON array read back as rows of the table's own type: one parameter
    # whatever the batch. A VALUES list of typed placeholders (30 per event) cost the flush
    # more Python than the rest of it: psycopg splits such a query anew on every execution, as
    # it caches only statements of at most 4 KB and 50 parameters. Only table and column names
    # from the models are spliced in; every value is a parameter.
    sql = (
        "BEGIN; SET LOCAL synchronous_commit TO OFF; "  # noqa: S608
        f"WITH latest AS (SELECT id FROM {cycles} WHERE organization_id = %s "
        "ORDER BY started_at DESC LIMIT 1 FOR UPDATE), "
        f"current AS (UPDATE {cycles} SET last_event_at = GREATEST(last_event_at, %s){bumps} "
        "WHERE id IN (SELECT id FROM latest) AND last_event_at >= %s RETURNING id) "
        f"INSERT INTO {table} (cycle_id, {columns}) "
        f"SELECT current.id, {', '.join(f'e.{quote(f.column)}' for f in fields)} "
        f"FROM current CROSS JOIN ROWS FROM (jsonb_populate_recordset(NULL::{table}, %s::jsonb)) "
        "WITH ORDINALITY AS e ORDER BY e.ordinality RETURNING id, cycle_id; COMMIT;"
    )
    first = events[0]
    rows = [{f.column: event[f.attname] for f in fields} for event in events]
    params = [
        first["organization_id"],
        max(event["created_at"] for event in events),
        *(amount for _, amount in counters),
        first["created_at"] - idle_gap(),
        json.dumps(rows, default=_isoformat),
    ]
    with multi_statement_cursor() as cursor:
        try:
            cursor.execute(sql, params)
            inserted = None
            while True:
                if cursor.description is not None and inserted is None:
                    inserted = cursor.fetchall()
                if not cursor.nextset():
                    break
        except DatabaseError:
            cursor.execute("ROLLBACK")
            raise
    return inserted or None


def _isoformat(value: object) -> str:
    """The JSON of ``append_to_current_cycle``'s rows: timestamps in ISO 8601, microseconds
    and offset kept (``DjangoJSONEncoder`` would cut them to milliseconds)."""
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")
