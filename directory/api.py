"""The events pull API (djangorestframework, documented by drf-spectacular).

``GET /api/directory/v1/organizations/<slug>/events?after=<position>`` returns one
organization's events after a position, oldest first; ``GET /api/directory/v1/events?cursor=``
returns every organization's, for the Kno2fy platform. Both take ``Authorization: Bearer
k2e_…``, a platform API key. A key of one organization reads only that organization: any other
slug answers 404, as if it did not exist.

Positions are in commit order per organization (``directory.models``), so "after N" never
skips an event that commits later. The cross-organization cursor is therefore the last
position seen of each organization, not a global id, which a slow transaction could
commit below.
"""

from __future__ import annotations

import base64
import binascii
import json

from django.conf import settings
from django.db.models import Q
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import authentication, exceptions, permissions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.credentials import bearer_token
from organizations.models import Organization

from . import delivery, services
from .models import DirectoryEvent, EventType, PlatformApiKey


class PlatformApiKeyAuthentication(authentication.BaseAuthentication):
    """``Authorization: Bearer k2e_…``; ``request.auth`` becomes the ``PlatformApiKey``."""

    def authenticate(self, request: Request) -> tuple[None, PlatformApiKey] | None:
        presented = bearer_token(request)
        if presented is None:
            return None
        api_key = services.authenticate_platform_key(presented)
        if api_key is None:
            raise exceptions.AuthenticationFailed("Invalid API key.")
        return None, api_key

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="directory-events"'


class HasPlatformKey(permissions.BasePermission):
    def has_permission(self, request: Request, view: object) -> bool:
        return isinstance(request.auth, PlatformApiKey)


_event = inline_serializer(
    "DirectoryEvent",
    {
        "id": serializers.CharField(help_text="evt_…, the webhook-id of the same event."),
        "type": serializers.ChoiceField(choices=EventType.values),
        "position": serializers.IntegerField(help_text="Increasing, gapless, per organization."),
        "created_at": serializers.DateTimeField(),
        "organization": inline_serializer(
            "EventOrganization",
            {
                "id": serializers.UUIDField(),
                "slug": serializers.CharField(),
            },
        ),
        "resource": inline_serializer(
            "EventResource",
            {
                "type": serializers.ChoiceField(choices=["User", "Group"]),
                "id": serializers.UUIDField(),
                "externalId": serializers.CharField(allow_null=True),
                "userName": serializers.CharField(required=False),
                "displayName": serializers.CharField(required=False),
            },
        ),
        "data": serializers.JSONField(help_text="The resource's state after the change."),
        "changes": serializers.ListField(child=serializers.JSONField()),
    },
)

_limit = OpenApiParameter("limit", OpenApiTypes.INT, description="Events per page.")


def _limit_of(request: Request) -> int:
    default = settings.DIRECTORY_API_PAGE_SIZE
    try:
        limit = int(request.query_params.get("limit", default))
    except ValueError as exc:
        raise exceptions.ValidationError({"limit": "a whole number"}) from exc
    return max(1, min(limit, default * 10))


def _page(rows, limit: int, seen: dict[int, int]) -> tuple[list[DirectoryEvent], bool]:
    """Up to ``limit`` events of ``rows`` (event rows in reading order) after the position
    ``seen`` holds for each organization, spans expanded; and whether more follow. Every row
    holds at least one event, so ``limit + 1`` rows are enough to tell."""
    events: list[DirectoryEvent] = []
    for row in rows.select_related("organization")[: limit + 1]:
        for event in row.expand(after=seen.get(row.organization_id, 0)):
            if len(events) == limit:
                return events, True
            events.append(event)
            seen[row.organization_id] = event.position
    return events, False


class OrganizationEventsView(APIView):
    authentication_classes = [PlatformApiKeyAuthentication]
    permission_classes = [HasPlatformKey]

    @extend_schema(
        summary="One organization's events after a position",
        parameters=[
            OpenApiParameter(
                "after",
                OpenApiTypes.INT,
                description="Return events with a greater position (default 0).",
            ),
            _limit,
        ],
        responses=inline_serializer(
            "OrganizationEventPage",
            {
                "events": _event.__class__(many=True),
                "next_after": serializers.IntegerField(
                    help_text="Pass as after for the next page."
                ),
                "has_more": serializers.BooleanField(),
            },
        ),
    )
    def get(self, request: Request, slug: str) -> Response:
        api_key: PlatformApiKey = request.auth
        organization = Organization.objects.filter(slug=slug).first()
        if organization is None or (
            api_key.organization_id and api_key.organization_id != organization.pk
        ):
            raise Http404
        try:
            after = int(request.query_params.get("after", 0))
        except ValueError as exc:
            raise exceptions.ValidationError({"after": "a whole number"}) from exc
        events, more = _page(
            DirectoryEvent.objects.filter(
                organization=organization, last_position__gt=after
            ).order_by("last_position"),
            _limit_of(request),
            {organization.pk: after},
        )
        return Response(
            {
                "events": [delivery.payload(event) for event in events],
                "next_after": events[-1].position if events else after,
                "has_more": more,
            }
        )


def _decode_cursor(raw: str) -> dict[int, int]:
    if not raw:
        return {}
    try:
        decoded = json.loads(base64.urlsafe_b64decode(raw.encode() + b"=" * (-len(raw) % 4)))
        return {int(org): int(position) for org, position in decoded.items()}
    except (ValueError, TypeError, AttributeError, binascii.Error) as exc:
        raise exceptions.ValidationError({"cursor": "not a cursor this API returned"}) from exc


def _encode_cursor(positions: dict[int, int]) -> str:
    raw = json.dumps(
        {str(org): pos for org, pos in sorted(positions.items())}, separators=(",", ":")
    )
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


class AllEventsView(APIView):
    authentication_classes = [PlatformApiKeyAuthentication]
    permission_classes = [HasPlatformKey]

    @extend_schema(
        summary="Every organization's events after a cursor (all-organizations keys only)",
        parameters=[
            OpenApiParameter(
                "cursor",
                OpenApiTypes.STR,
                description="next_cursor of the last page; empty: from the start.",
            ),
            _limit,
        ],
        responses=inline_serializer(
            "EventPage",
            {
                "events": _event.__class__(many=True),
                "next_cursor": serializers.CharField(),
                "has_more": serializers.BooleanField(),
            },
        ),
    )
    def get(self, request: Request) -> Response:
        api_key: PlatformApiKey = request.auth
        if api_key.organization_id:
            raise exceptions.PermissionDenied("This key reads only its organization's events.")
        seen = _decode_cursor(request.query_params.get("cursor", ""))
        condition = ~Q(organization_id__in=list(seen))
        for org, position in seen.items():
            condition |= Q(organization_id=org, last_position__gt=position)
        # Ids grow in position order within each organization, so the page order keeps every
        # organization's order and the cursor advances each by what the page held.
        events, more = _page(
            DirectoryEvent.objects.filter(condition).order_by("pk"), _limit_of(request), seen
        )
        return Response(
            {
                "events": [delivery.payload(event) for event in events],
                "next_cursor": _encode_cursor(seen),
                "has_more": more,
            }
        )
