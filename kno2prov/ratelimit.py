"""Rate limits on the SCIM endpoint: a budget per organization, and a brake on token guessing.

Counters live in Django's cache (``CACHES["default"]``): Redis in production (``REDIS_URL``), so
every gunicorn worker and every app server shares them; local memory on the embedded default.
Counting uses django-ratelimit's fixed windows (``django_ratelimit.core.get_usage``). Its app is
not installed: its system checks only know third-party Redis clients, not Django's own backend.

* **Per organization** (``SCIM_RATE_LIMIT``, default 1000 requests per 10 s, far above the
  25 requests/s Azure requires of a gallery app): only requests that authenticated count, so
  nobody can spend an organization's budget with bad tokens. Over budget: 429 with
  ``Retry-After`` and a SCIM error body (RFC 7644 §3.12 defines no scimType for 429).
* **Per client address and tenant URL** (``SCIM_AUTH_FAILURE_RATE``, default 20 failed
  authentications per 5 minutes): past that, that client's requests to that tenant URL answer
  429 with ``Retry-After`` before any credential is looked up. Another organization's Azure job
  from the same address is not affected (Azure's addresses are shared by all its tenants).

``scim.auth`` calls these around authentication and reads what it needs from the SCIM call
record (``scim.calls.ScimCall``); nothing here parses a path or a header of its own.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django_ratelimit.core import get_usage

if TYPE_CHECKING:
    from scim.calls import ScimCall

logger = logging.getLogger(__name__)

SCIM_CONTENT_TYPE = "application/scim+json"


def client_address(request: HttpRequest) -> str:
    """The client's address: ``REMOTE_ADDR``, or the address ``TRUSTED_PROXY_COUNT`` proxies
    in front of us wrote into ``X-Forwarded-For`` (the rightmost ones are ours)."""
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies:
        forwarded = [
            part.strip()
            for part in request.headers.get("X-Forwarded-For", "").split(",")
            if part.strip()
        ]
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


def _usage(request: HttpRequest, group: str, value: str, rate: str, increment: bool) -> dict | None:
    """The window's count for ``value``, or ``None`` while the cache cannot be reached: a cache
    outage must never stop provisioning (``RATELIMIT_FAIL_OPEN`` covers only some failures)."""
    try:
        return get_usage(
            request, group=group, key=lambda g, r: value, rate=rate, increment=increment
        )
    except Exception:
        logger.warning("rate limit skipped: cache unavailable group=%s", group, exc_info=True)
        return None


def _exhausted(usage: dict | None) -> bool:
    """Whether one more request would go past the limit (``None``: the cache is unreachable)."""
    return usage is not None and usage["count"] >= usage["limit"]


def refuse_guessing(request: HttpRequest, call: ScimCall) -> HttpResponse | None:
    """429 before any credential is looked up, once this client has failed too often at this
    tenant URL (``SCIM_AUTH_FAILURE_RATE``); ``None`` otherwise."""
    guessing = _usage(
        request,
        "scim-auth-failures",
        _guessing_key(request, call),
        settings.SCIM_AUTH_FAILURE_RATE,
        increment=False,
    )
    if not _exhausted(guessing):
        return None
    return too_many_requests(
        "Too many failed authentications from this client; retry later", guessing["time_left"]
    )


def count_refused(request: HttpRequest, call: ScimCall) -> HttpResponse | None:
    """Count a refused credential against this client; 429 if that was one too many."""
    guessing = _usage(
        request,
        "scim-auth-failures",
        _guessing_key(request, call),
        settings.SCIM_AUTH_FAILURE_RATE,
        increment=True,
    )
    if guessing is None or not guessing["should_limit"]:
        return None
    logger.warning("scim authentication failures over limit client=%s", client_address(request))
    return too_many_requests(
        "Too many failed authentications from this client; retry later", guessing["time_left"]
    )


def spend_budget(request: HttpRequest, call: ScimCall) -> HttpResponse | None:
    """Count an authenticated call against its organization's budget (``SCIM_RATE_LIMIT``);
    429 once the budget is spent. Only authenticated calls reach this, so nobody can spend an
    organization's budget without its credentials."""
    organization = call.organization
    if organization is None:
        return None
    spent = _usage(
        request,
        "scim-organization",
        str(organization.public_id),
        settings.SCIM_RATE_LIMIT,
        increment=True,
    )
    if spent is None or not spent["should_limit"]:
        return None
    logger.warning("scim rate limit reached org=%s", organization.pk)
    return too_many_requests(
        "This organization's request rate limit is reached; retry later", spent["time_left"]
    )


def _guessing_key(request: HttpRequest, call: ScimCall) -> str:
    """Failures count per client address and tenant URL: Azure's addresses are shared by all
    its tenants, so one tenant's wrong token must not lock out another tenant's Azure job."""
    return f"{client_address(request)}|{call.tenant or '-'}"
