"""Ends a portal session the moment it stops being deserved.

On every request of a session that SSO opened: past its absolute expiry
(``SSO_SESSION_MAX_AGE_SECONDS`` from sign-in, however active the user is), or once the user is
deactivated, deleted, or removed from every portal group through SCIM, or SSO is switched off,
the session is flushed and the request continues signed out. One indexed query per request.

On every request of a tenant admin's password session: once every organization of the account
signs in through SSO only, or SCIM deactivated or deleted the person (by the account's email or
username) after the session began (``services.password_session_is_valid``), likewise. One query
per request. Staff sessions are
the admin's business (staffauth); the portal still hides SSO-only organizations from them.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from portal.access import PASSWORD, SIGNED_IN_AT_KEY, sign_in_method

from . import services
from .views import SESSION_KEY


class SsoSessionMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if hasattr(request, "session"):
            state = request.session.get(SESSION_KEY)
            if state:
                if not self._still_valid(state):
                    logout(request)
            elif self._is_password_session(request) and not services.password_session_is_valid(
                request.user, parse_datetime(request.session.get(SIGNED_IN_AT_KEY) or "")
            ):
                logout(request)
        return self.get_response(request)

    @staticmethod
    def _is_password_session(request: HttpRequest) -> bool:
        user = request.user
        return (
            user.is_authenticated
            and not user.is_staff
            and sign_in_method(request.session) == PASSWORD
        )

    @staticmethod
    def _still_valid(state: dict) -> bool:
        expires = parse_datetime(state.get("expires") or "")
        if expires is None or expires <= timezone.now():
            return False
        return services.sso_session_is_valid(state["org"], state["user"])
