"""Who the client is, and the project's one fail-open rate limiter.

Counters live in Django's cache (``CACHES["default"]``): Redis in production (``REDIS_URL``), so
every gunicorn worker and every app server shares them; local memory on the embedded default.
Counting uses django-ratelimit's fixed windows (``django_ratelimit.core.get_usage``). Its app is
not installed: its system checks only know third-party Redis clients, not Django's own backend.

The limits themselves belong to the endpoints that apply them: SCIM's in ``scim.ratelimit``,
the OAuth token endpoint's in ``oauth.views``. Both count through ``usage`` here, so a cache
outage never stops provisioning at either.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.http import HttpRequest
from django_ratelimit.core import get_usage

logger = logging.getLogger(__name__)


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


def usage(request: HttpRequest, group: str, value: str, rate: str, increment: bool) -> dict | None:
    """The window's count for ``value``, or ``None`` while the cache cannot be reached: a cache
    outage must never stop provisioning (``RATELIMIT_FAIL_OPEN`` covers only some failures)."""
    try:
        return get_usage(
            request, group=group, key=lambda g, r: value, rate=rate, increment=increment
        )
    except Exception:
        logger.warning("rate limit skipped: cache unavailable group=%s", group, exc_info=True)
        return None


def exhausted(usage: dict | None) -> bool:
    """Whether one more request would go past the limit (``None``: the cache is unreachable)."""
    return usage is not None and usage["count"] >= usage["limit"]
