"""How long a staff session lasts, and how fresh its second factor must be to handle credentials.

A staff sign-in stamps the session (``user_logged_in``, connected in ``CoreConfig.ready``): the
session ends ``STAFF_SESSION_MAX_AGE_SECONDS`` after sign-in however active it is
(``StaffSessionMiddleware``), and the admin views that issue or reveal a credential
(``second_factor_recently_verified``) ask for the second factor again once the last
verification is older than ``STAFF_REVERIFY_SECONDS``. The page that asks is staffauth's
(``admin:staff_reverify``, reached by URL name: core imports no app); it calls
``mark_verified``.

The admin itself admits only sessions a second factor verified (staffauth), so a staff sign-in
that reaches the admin was verified at that moment: sign-in stamps both times.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.sessions.backends.base import SessionBase
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

SIGNED_IN_AT = "staff_signed_in_at"
VERIFIED_AT = "staff_second_factor_at"
REVERIFY_URL_NAME = "admin:staff_reverify"

View = TypeVar("View", bound=Callable[..., HttpResponse])


def mark_verified(session: SessionBase) -> None:
    """The session's second factor was verified just now."""
    session[VERIFIED_AT] = time.time()


def stamp_staff_sign_in(sender: object, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    """``user_logged_in`` receiver: a staff session's clock starts, and its cookie ends with it."""
    if not getattr(user, "is_staff", False) or request is None:
        return
    now = time.time()
    request.session[SIGNED_IN_AT] = now
    request.session[VERIFIED_AT] = now
    request.session.set_expiry(settings.STAFF_SESSION_MAX_AGE_SECONDS)


def recently_verified(request: HttpRequest) -> bool:
    """Whether the session's second factor was verified within ``STAFF_REVERIFY_SECONDS``
    (always, when ``STAFF_MFA_REQUIRED`` is off for local experiments)."""
    if not settings.STAFF_MFA_REQUIRED:
        return True
    verified = request.session.get(VERIFIED_AT)
    return (
        isinstance(verified, int | float)
        and time.time() - verified < settings.STAFF_REVERIFY_SECONDS
    )


def reverify_url(next_url: str) -> str:
    return f"{reverse(REVERIFY_URL_NAME)}?{urlencode({'next': next_url})}"


def second_factor_recently_verified(view: View) -> View:
    """For an admin view method ``(self, request, ...)`` that issues or reveals a credential:
    with a stale second factor, send staff to verify it again, then back to this page (a form
    posted meanwhile is shown again, not acted on)."""

    @functools.wraps(view)
    def guarded(self: Any, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not recently_verified(request):
            return HttpResponseRedirect(reverify_url(request.get_full_path()))
        return view(self, request, *args, **kwargs)

    return guarded  # type: ignore[return-value]


class StaffSessionMiddleware:
    """Signs a staff session out ``STAFF_SESSION_MAX_AGE_SECONDS`` after its sign-in, or at once
    when it carries no sign-in time (opened before this rule)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if self._expired(request):
            logout(request)
        return self.get_response(request)

    @staticmethod
    def _expired(request: HttpRequest) -> bool:
        session = getattr(request, "session", None)
        if session is None:
            return False
        signed_in = session.get(SIGNED_IN_AT)
        if signed_in is None:
            # Only a staff session without the stamp is ended; looking at the user costs a
            # query only for sessions that have one, whose views load it anyway.
            user = getattr(request, "user", None)
            return bool(user is not None and user.is_authenticated and user.is_staff)
        return time.time() - signed_in >= settings.STAFF_SESSION_MAX_AGE_SECONDS
