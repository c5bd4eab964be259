"""Ends an SSO portal session the moment it stops being deserved.

On every request of a session that SSO opened: past its absolute expiry
(``SSO_SESSION_MAX_AGE_SECONDS`` from sign-in, however active the user is), or once the user is
deactivated, deleted, or removed from every portal group through SCIM, or SSO is switched off,
the session is flushed and the request continues signed out. One indexed query per request.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from . import services
from .views import SESSION_KEY


class SsoSessionMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        state = request.session.get(SESSION_KEY) if hasattr(request, "session") else None
        if state and not self._still_valid(state):
            logout(request)
        return self.get_response(request)

    @staticmethod
    def _still_valid(state: dict) -> bool:
        expires = parse_datetime(state.get("expires") or "")
        if expires is None or expires <= timezone.now():
            return False
        return services.sso_session_is_valid(state["org"], state["user"])
