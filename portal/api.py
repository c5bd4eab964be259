"""The sync history API for a customer's SIEM (djangorestframework).

``GET /portal/api/v1/o/<slug>/events/`` with a bearer ``k2h_…`` key: the
organization's events, newest first, with the event list's filters (``operation``,
``outcome``, ``user``, ``since``, ``until``, ISO 8601) and cursor pagination. A key only reads
its own organization; a signed-in tenant admin may also read it from the browser. Anything
else answers 404, as the portal pages do.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from rest_framework import (
    authentication,
    exceptions,
    generics,
    pagination,
    permissions,
)
from rest_framework.request import Request

from core.credentials import bearer_token
from organizations.models import Organization
from scim.calls import Operation

from . import apikeys, history
from .access import organizations_for_user
from .models import HistoryApiKey, SyncEvent
from .serializers import SyncEventSerializer

logger = logging.getLogger(__name__)


class HistoryApiKeyAuthentication(authentication.BaseAuthentication):
    """A bearer ``k2h_…`` key; ``request.auth`` becomes the ``HistoryApiKey``."""

    def authenticate(self, request: Request) -> tuple[AnonymousUser, HistoryApiKey] | None:
        presented = bearer_token(request)
        if presented is None:
            return None
        candidates = HistoryApiKey.objects.active().select_related("organization")
        api_key = HistoryApiKey.verify(candidates, presented, prefix=apikeys.PREFIX)
        if api_key is None:
            raise exceptions.AuthenticationFailed("Invalid API key.")
        return AnonymousUser(), api_key

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="sync-history"'


class HistoryReader(permissions.BasePermission):
    """Either an API key or a signed-in tenant admin."""

    def has_permission(self, request: Request, view: object) -> bool:
        if isinstance(request.auth, HistoryApiKey):
            return True
        return bool(request.user and request.user.is_authenticated)


class NewestFirstCursor(pagination.CursorPagination):
    ordering = ("-created_at", "-id")
    page_size_query_param = "page_size"
    max_page_size = 1000

    def get_page_size(self, request: Request) -> int:
        self.page_size = settings.PORTAL_PAGE_SIZE
        return super().get_page_size(request)

    def decode_cursor(self, request: Request) -> pagination.Cursor | None:
        """DRF's cursor, refused (404) unless its position is a time ``encode_cursor`` could
        have written: a forged one would otherwise fail in the database."""
        cursor = super().decode_cursor(request)
        if cursor is None or cursor.position is None:
            return cursor
        key = history.decode_cursor(f"{cursor.position}_0")
        if key is None:
            raise exceptions.NotFound(self.invalid_cursor_message)
        return cursor._replace(position=str(key[0]))


class EventListView(generics.ListAPIView):
    authentication_classes = [
        HistoryApiKeyAuthentication,
        authentication.SessionAuthentication,
    ]
    permission_classes = [HistoryReader]
    serializer_class = SyncEventSerializer
    pagination_class = NewestFirstCursor

    def organization(self) -> Organization:
        slug = self.kwargs["slug"]
        if isinstance(self.request.auth, HistoryApiKey):
            organization = self.request.auth.organization
            if organization.slug != slug:
                raise Http404
            return organization
        organization = organizations_for_user(self.request).filter(slug=slug).first()
        if organization is None:
            raise Http404
        return organization

    def get_queryset(self) -> QuerySet[SyncEvent]:
        params = self.request.query_params
        if any("\x00" in value for value in params.values()):
            raise exceptions.ValidationError({"query": "A NUL character is not allowed here."})
        operation = params.get("operation", "")
        filters = history.EventFilters(
            operation=operation if operation in Operation.values else "",
            outcome=params.get("outcome", ""),
            user=params.get("user", "").strip(),
            since=_parse_time(params.get("since", "")),
            until=_parse_time(params.get("until", "")),
        )
        return history.events_for(self.organization(), filters)


def _parse_time(value: str) -> datetime | None:
    if not value:
        return None
    try:
        moment = parse_datetime(value)
    except ValueError:
        moment = None
    if moment is None:
        raise exceptions.ValidationError({"time": f"Not an ISO 8601 date and time: {value!r}"})
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, UTC)
    try:
        # PostgreSQL refuses offsets past ±15:59, and a shift past year 9999 overflows.
        return moment.astimezone(UTC)
    except OverflowError:
        raise exceptions.ValidationError({"time": f"Out of range: {value!r}"}) from None
