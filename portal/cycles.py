"""Grouping sync events into Azure AD provisioning cycles as they are recorded.

A cycle is a burst of requests separated from the previous burst by more than
``SYNC_CYCLE_IDLE_MINUTES`` of silence (Azure runs one about every 40 minutes, reference §3.9).
Cycles are assigned on insert: look at the organization's latest cycle (one indexed row),
extend it or open a new one, and bump its counters. Nothing ever re-scans the events, so this
stays cheap with millions of them.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import F
from django.db.models.functions import Greatest

from organizations.models import Organization

from .models import Operation, SyncCycle

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
    operation: str, *, succeeded: bool, status_code: int, members_added: int = 0,
    members_removed: int = 0,
) -> dict[str, int]:
    """How one event changes its cycle's counters."""
    increments = {"events": 1}
    if not succeeded:
        increments["failures"] = 1
        if status_code == 401:
            increments["auth_failures"] = 1
        return increments
    counter = _COUNTER_FOR_OPERATION.get(operation)
    if counter:
        increments[counter] = 1
    if members_added or members_removed:
        increments["membership_changes"] = members_added + members_removed
    return increments


def assign_cycle(
    organization: Organization, at: datetime, increments: dict[str, int]
) -> SyncCycle:
    """The cycle an event at ``at`` belongs to, with its counters already bumped.

    Must run inside a transaction: the latest cycle row is locked so concurrent requests of one
    organization extend the same cycle, and opening a new one locks the organization so a
    burst's first requests do not each open their own.
    """
    latest = _latest_cycle(organization)
    if latest is not None and at - latest.last_event_at <= idle_gap():
        return _extend(latest, at, increments)
    # Opening a cycle is rare (once per burst) but its first requests arrive together: lock the
    # organization row so they open one cycle between them, then look again. NO KEY UPDATE, so
    # the lock does not block (and deadlock with) the foreign-key checks of concurrent inserts.
    Organization.objects.select_for_update(no_key=True).filter(pk=organization.pk).only(
        "pk"
    ).get()
    latest = _latest_cycle(organization)
    if latest is not None and at - latest.last_event_at <= idle_gap():
        return _extend(latest, at, increments)
    return SyncCycle.objects.create(
        organization=organization, started_at=at, last_event_at=at, **increments
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
