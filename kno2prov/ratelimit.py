"""Rate limits on the SCIM endpoint: a budget per organization, and a brake on token guessing.

Counters live in Django's cache (``CACHES["default"]``): Redis in production (``REDIS_URL``), so
every gunicorn worker and every app server shares them; local memory on the embedded default.
Counting uses django-ratelimit's fixed windows (``django_ratelimit.core.get_usage``). Its app is
not installed: its system checks only know third-party Redis clients, not Django's own backend.

* **Per organization** (``SCIM_RATE_LIMIT``, default 1000 requests per 10 s, far above the
  25 requests/s Azure requires of a gallery app): only requests that authenticated count, so
  nobody can spend an organization's budget with bad tokens. Over budget: 429 with
  ``Retry-After`` and a SCIM error body (RFC 7644 §3.12 defines no scimType for 429).
* **Per client address** (``SCIM_AUTH_FAILURE_RATE``, default 20 failed authentications per
  5 minutes): past that, that client's further failures answer 429 with ``Retry-After`` instead
  of 401, and malformed tokens are refused before any database lookup. A valid token from the
  same address still works, so an organization's real Azure job is never locked out by someone
  else's guessing (Azure's addresses are shared by all its tenants).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django_ratelimit.core import get_usage

from organizations import tokens
from organizations.oauth_models import ACCESS_TOKEN_PREFIX

logger = logging.getLogger(__name__)

SCIM_CONTENT_TYPE = "application/scim+json"
_TENANT = re.compile(r"^/scim/v2/([0-9a-fA-F-]{32,36})(?:/|$)")


def client_address(request: HttpRequest) -> str:
    """The client's address: ``REMOTE_ADDR``, or the address ``TRUSTED_PROXY_COUNT`` proxies
    in front of us wrote into ``X-Forwarded-For`` (the rightmost ones are ours)."""
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies:
        forwarded = [part.strip() for part in request.headers.get("X-Forwarded-For", "").split(",")
                     if part.strip()]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def client_ip_or_none(request: HttpRequest) -> str | None:
    """``client_address`` for django-axes (``AXES_CLIENT_IP_CALLABLE``), ``None`` when unknown,
    e.g. for the request-less sign-ins Django's test client makes."""
    address = client_address(request)
    return None if address == "unknown" else address


def too_many_requests(detail: str, retry_after: int) -> HttpResponse:
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
        "status": "429",
        "detail": detail,
    }
    response = HttpResponse(json.dumps(body), status=429, content_type=SCIM_CONTENT_TYPE)
    response["Retry-After"] = str(max(1, retry_after))
    return response


def _usage(request: HttpRequest, group: str, value: str, rate: str,
           increment: bool) -> dict | None:
    """The window's count for ``value``, or ``None`` while the cache cannot be reached: a cache
    outage must never stop provisioning (``RATELIMIT_FAIL_OPEN`` covers only some failures)."""
    try:
        return get_usage(request, group=group, key=lambda g, r: value, rate=rate,
                         increment=increment)
    except Exception:
        logger.warning("rate limit skipped: cache unavailable group=%s", group, exc_info=True)
        return None


def _exhausted(usage: dict | None) -> bool:
    """Whether one more request would go past the limit (``None``: the cache is unreachable)."""
    return usage is not None and usage["count"] >= usage["limit"]


def _presents_well_formed_token(request: HttpRequest) -> bool:
    scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
    presented = presented.strip()
    return scheme.lower() == "bearer" and any(
        tokens.parse_token(presented, prefix=prefix) is not None
        for prefix in (tokens.PREFIX, ACCESS_TOKEN_PREFIX)
    )


class ScimRateLimitMiddleware:
    """Last in ``MIDDLEWARE``, so the sync history and metrics also see the 429s it answers."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        match = _TENANT.match(request.path)
        if match is None:
            return self.get_response(request)
        tenant = match.group(1).lower()
        address = client_address(request)

        def failures(increment: bool = False) -> dict | None:
            return _usage(request, "scim-auth-failures", address,
                          settings.SCIM_AUTH_FAILURE_RATE, increment)

        def budget(increment: bool = False) -> dict | None:
            return _usage(request, "scim-organization", tenant, settings.SCIM_RATE_LIMIT,
                          increment)

        guessing = failures()
        if _exhausted(guessing) and not _presents_well_formed_token(request):
            return too_many_requests(
                "Too many failed authentications from this client; retry later",
                guessing["time_left"],
            )
        spent = budget()
        if _exhausted(spent):
            logger.warning("scim rate limit reached tenant=%s", tenant)
            return too_many_requests(
                "This organization's request rate limit is reached; retry later",
                spent["time_left"],
            )

        response = self.get_response(request)

        if getattr(request, "scim_organization", None) is not None:
            budget(increment=True)
        elif response.status_code == 401:
            guessing = failures(increment=True)
            if guessing and guessing["should_limit"]:
                logger.warning("scim authentication failures over limit client=%s", address)
                return too_many_requests(
                    "Too many failed authentications from this client; retry later",
                    guessing["time_left"],
                )
        return response
