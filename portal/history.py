"""Reading an organization's sync history: filters, keyset pages, timelines, charts' data.

Shared by the portal pages, the CSV export, the history API and ``manage.py sync_history`` so
they all answer the same question the same way. Pages are keyset pages on
``(created_at, id)``: no ``COUNT(*)`` and no ``OFFSET``, so page 1 and page 1,000 cost the same
with millions of events (each filter has an index starting ``organization, <filter>``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.http import Http404
from django.utils.dateparse import parse_datetime

from organizations.models import Organization
from scim.models import ScimGroup, ScimUser

from .models import SyncCycle, SyncEvent

OUTCOMES = {"success": True, "failure": False}


@dataclass(frozen=True)
class EventFilters:
    """The filters of the event list, CSV export and API (all optional)."""

    operation: str = ""
    outcome: str = ""
    user: str = ""
    since: datetime | None = None
    until: datetime | None = None
    resource_type: str = ""


def filter_events(queryset: QuerySet[SyncEvent], filters: EventFilters) -> QuerySet[SyncEvent]:
    if filters.operation:
        queryset = queryset.filter(operation=filters.operation)
    if filters.outcome in OUTCOMES:
        queryset = queryset.filter(succeeded=OUTCOMES[filters.outcome])
    if filters.user:
        queryset = queryset.filter(Q(subject=filters.user) | Q(resource_id=filters.user))
    if filters.resource_type:
        queryset = queryset.filter(resource_type=filters.resource_type)
    if filters.since:
        queryset = queryset.filter(created_at__gte=filters.since)
    if filters.until:
        queryset = queryset.filter(created_at__lt=filters.until)
    return queryset


def events_for(organization: Organization, filters: EventFilters) -> QuerySet[SyncEvent]:
    """``organization``'s events matching ``filters``, newest first."""
    return filter_events(SyncEvent.objects.for_organization(organization), filters).order_by(
        "-created_at", "-id"
    )


def encode_cursor(event: SyncEvent) -> str:
    return f"{event.created_at.isoformat()}_{event.pk}"


def decode_cursor(cursor: str) -> tuple[datetime, int] | None:
    """The ``(created_at, id)`` of a cursor ``encode_cursor`` made, or ``None`` for anything else.

    Cursors come back in query strings, so a forged one must not reach the database as an
    out-of-range time zone (PostgreSQL refuses offsets past ±15:59) or a year past 9999.
    """
    stamp, _, pk = cursor.rpartition("_")
    try:
        moment = parse_datetime(stamp)
        if moment is None or moment.tzinfo is None or not pk.isdigit():
            return None
        return moment.astimezone(UTC), int(pk)
    except (ValueError, OverflowError):
        return None


@dataclass
class EventPage:
    events: list[SyncEvent]
    newer_cursor: str = ""
    older_cursor: str = ""


def page_of(
    queryset: QuerySet[SyncEvent], *, size: int, before: str = "", after: str = ""
) -> EventPage:
    """One keyset page of a newest-first queryset, older than ``before`` or newer than ``after``.

    A cursor that is not one of ours answers 404, as a page that does not exist.
    """
    before_key = decode_cursor(before) if before else None
    after_key = decode_cursor(after) if after else None
    if (before and before_key is None) or (after and after_key is None):
        raise Http404("No such page.")
    if after_key is not None:
        moment, pk = after_key
        rows = list(
            queryset.filter(created_at__gte=moment)
            .exclude(created_at=moment, id__lte=pk)
            .order_by("created_at", "id")[: size + 1]
        )
        has_newer = len(rows) > size
        events = list(reversed(rows[:size]))
        has_older = True
    else:
        if before_key is not None:
            moment, pk = before_key
            queryset = queryset.filter(created_at__lte=moment).exclude(
                created_at=moment, id__gte=pk
            )
        rows = list(queryset[: size + 1])
        has_older = len(rows) > size
        events = rows[:size]
        has_newer = before_key is not None
    page = EventPage(events=events)
    if events and has_newer:
        page.newer_cursor = encode_cursor(events[0])
    if events and has_older:
        page.older_cursor = encode_cursor(events[-1])
    return page


def resource_timeline(
    organization: Organization, resource_type: str, resource_id: str, name: str = ""
) -> QuerySet[SyncEvent]:
    """Every event about one user or group, newest first, including failed creates.

    A create that failed never got an id, so events are matched by id or by the name Azure
    sent (userName or displayName).
    """
    match = Q(resource_id=resource_id)
    if name:
        match |= Q(subject=name)
    return (
        SyncEvent.objects.for_organization(organization)
        .filter(resource_type=resource_type)
        .filter(match)
        .order_by("-created_at", "-id")
    )


def recent_cycles(organization: Organization, limit: int = 30) -> list[SyncCycle]:
    """The latest ``limit`` cycles, oldest first (chart order)."""
    cycles = list(
        SyncCycle.objects.filter(organization=organization).order_by("-started_at")[:limit]
    )
    return list(reversed(cycles))


def daily_totals(organization: Organization, since: datetime) -> list[dict]:
    """Per day since ``since``: requests, failures and changes, summed from cycle counters."""
    return list(
        SyncCycle.objects.filter(organization=organization, started_at__gte=since)
        .annotate(day=TruncDate("started_at"))
        .values("day")
        .annotate(
            events=Sum("events"),
            failures=Sum("failures"),
            created=Sum("created"),
            updated=Sum("updated"),
            deactivated=Sum("deactivated"),
            deleted=Sum("deleted"),
            membership_changes=Sum("membership_changes"),
            cycles=Count("id"),
        )
        .order_by("day")
    )


def provisioned_counts(organization: Organization) -> dict[str, int]:
    """How many users (all, and active) and groups Azure has provisioned here."""
    users = ScimUser.objects.filter(organization=organization)
    return {
        "users": users.count(),
        "active_users": users.filter(active=True).count(),
        "groups": ScimGroup.objects.filter(organization=organization).count(),
    }
