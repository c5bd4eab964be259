"""Who the client is, and the project's one fail-open rate limiter.

Counting is in django-ratelimit's fixed windows (its rate syntax, and its window, which ends at
a per-value offset so that not every counter resets at once). With ``REDIS_URL`` (production)
the counters live in Redis, shared by every gunicorn worker and app server, and each check is
one round trip: reading a count is a ``GET``; spending one is a pipelined ``SET NX EX`` and
``INCR``. Through Django's cache API the same check took two or three (``add``, then ``get``, or
``exists`` and ``incr``): five per SCIM request, about a sixth of a user lookup. Without
``REDIS_URL`` (the embedded default) counters live in Django's local-memory cache through
``django_ratelimit.core.get_usage``. django-ratelimit's app is not installed: its system checks
only know third-party Redis clients, not Django's own backend.

The limits themselves belong to the endpoints that apply them: SCIM's in ``scim.ratelimit``,
the OAuth token endpoint's in ``oauth.views``. Both count through ``usage`` here, so a cache
outage never stops provisioning at either.
"""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.http import HttpRequest
from django_ratelimit import core as ratelimit_core

from .redisclient import client as redis_client

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
    """The window's count for ``value`` (``count``, ``limit``, ``should_limit``, ``time_left``
    as django-ratelimit answers them), counting this request when ``increment``; ``None``
    while the counters cannot be reached: a cache outage must never stop provisioning
    (``RATELIMIT_FAIL_OPEN`` covers only some failures)."""
    try:
        if settings.REDIS_URL:
            return _redis_usage(settings.REDIS_URL, group, value, rate, increment)
        return ratelimit_core.get_usage(
            request, group=group, key=lambda g, r: value, rate=rate, increment=increment
        )
    except Exception:
        logger.warning("rate limit skipped: cache unavailable group=%s", group, exc_info=True)
        return None


def _redis_usage(url: str, group: str, value: str, rate: str, increment: bool) -> dict:
    limit, period = ratelimit_core._split_rate(rate)
    window = ratelimit_core._get_window(value, period)
    key = f"kno2prov:rl:{group}:{period}:{window}:{value}"
    connection = redis_client(url)
    if increment:
        pipeline = connection.pipeline(transaction=False)
        # The counter lives a little longer than its window, as django-ratelimit's does.
        pipeline.set(key, 0, ex=period + ratelimit_core.EXPIRATION_FUDGE, nx=True)
        pipeline.incr(key)
        count = pipeline.execute()[1]
    else:
        count = int(connection.get(key) or 0)
    return {
        "count": count,
        "limit": limit,
        "should_limit": count > limit,
        "time_left": window - int(time.time()),
    }


def exhausted(usage: dict | None) -> bool:
    """Whether one more request would go past the limit (``None``: the cache is unreachable)."""
    return usage is not None and usage["count"] >= usage["limit"]
