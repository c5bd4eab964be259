"""Who the client is, and the project's one fail-open rate limiter.

Counting is in django-ratelimit's fixed windows (its rate syntax, and its window, which ends at
a per-value offset so that not every counter resets at once). With ``REDIS_URL`` (production)
the counters live in Redis, shared by every gunicorn worker and app server, and each check is
one round trip, a Lua script (``core.redisclient.script``): reading a count is a ``GET``;
spending one is a ``SET NX EX`` and an ``INCR``; ``spend_unless_exhausted`` reads one counter
and spends another.
Through Django's cache API the same checks took two or three round trips each (``add``, then
``get``, or ``exists`` and ``incr``): five per SCIM request, about a sixth of a user lookup. Without
``REDIS_URL`` (the embedded default) counters live in Django's local-memory cache through
``django_ratelimit.core.get_usage``. django-ratelimit's app is not installed: its system checks
only know third-party Redis clients, not Django's own backend.

The limits themselves belong to the endpoints that apply them: SCIM's in ``scim.ratelimit``,
the OAuth token endpoint's in ``oauth.views``. Both count through ``usage`` here, so a cache
outage never stops provisioning at either.
"""

from __future__ import annotations

import functools
import logging
import time
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest
from django_ratelimit import core as ratelimit_core

from .redisclient import script as redis_script

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


@dataclass(frozen=True)
class Counter:
    """One fixed-window counter: ``value``'s count in ``group`` at ``rate`` (``"20/5m"``)."""

    group: str
    value: str
    rate: str


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


def spend_unless_exhausted(
    request: HttpRequest, guard: Counter, budget: Counter
) -> tuple[dict | None, dict | None]:
    """``guard``'s count, not counted up, and, unless ``guard`` is ``exhausted``, ``budget``'s
    count with this request counted (``None`` in its place when ``guard`` is exhausted: nothing
    was spent). With ``REDIS_URL`` one round trip, where ``usage`` twice would take two; both
    ``None`` while the counters cannot be reached (fail open, as ``usage``)."""
    try:
        if settings.REDIS_URL:
            return _redis_spend_unless_exhausted(settings.REDIS_URL, guard, budget)
        guarded = usage(request, guard.group, guard.value, guard.rate, increment=False)
        if exhausted(guarded):
            return guarded, None
        return guarded, usage(request, budget.group, budget.value, budget.rate, increment=True)
    except Exception:
        logger.warning(
            "rate limit skipped: cache unavailable group=%s", budget.group, exc_info=True
        )
        return None, None


# KEYS: the guard's counter, the budget's. ARGV: the guard's limit, the budget's expiry.
_SPEND_UNLESS_EXHAUSTED = """
local guarded = tonumber(redis.call('GET', KEYS[1]) or '0')
if guarded >= tonumber(ARGV[1]) then
  return {guarded, -1}
end
redis.call('SET', KEYS[2], 0, 'EX', ARGV[2], 'NX')
return {guarded, redis.call('INCR', KEYS[2])}
"""


def _redis_spend_unless_exhausted(
    url: str, guard: Counter, budget: Counter
) -> tuple[dict, dict | None]:
    guard_key, guard_limit, guard_window, _ = _redis_key(guard)
    budget_key, budget_limit, budget_window, budget_period = _redis_key(budget)
    guarded, spent = redis_script(url, _SPEND_UNLESS_EXHAUSTED)(
        keys=[guard_key, budget_key],
        args=[guard_limit, budget_period + ratelimit_core.EXPIRATION_FUDGE],
    )
    now = int(time.time())
    guard_usage = _counted(int(guarded), guard_limit, guard_window, now)
    if int(spent) < 0:
        return guard_usage, None
    return guard_usage, _counted(int(spent), budget_limit, budget_window, now)


# A rate's limit and period ("1000/10s"), parsed once per rate rather than on every request.
_split_rate = functools.cache(ratelimit_core._split_rate)


def _redis_key(counter: Counter) -> tuple[str, int, int, int]:
    """The Redis key of ``counter``'s current window, its limit, the window's end, its period."""
    limit, period = _split_rate(counter.rate)
    window = ratelimit_core._get_window(counter.value, period)
    return f"kno2prov:rl:{counter.group}:{period}:{window}:{counter.value}", limit, window, period


def _counted(count: int, limit: int, window: int, now: int) -> dict:
    """A count as ``usage`` answers it (django-ratelimit's keys)."""
    return {
        "count": count,
        "limit": limit,
        "should_limit": count > limit,
        "time_left": window - now,
    }


# KEYS: the counter. ARGV: its expiry.
_SPEND = """
redis.call('SET', KEYS[1], 0, 'EX', ARGV[1], 'NX')
return redis.call('INCR', KEYS[1])
"""
_READ = "return tonumber(redis.call('GET', KEYS[1]) or '0')"


def _redis_usage(url: str, group: str, value: str, rate: str, increment: bool) -> dict:
    key, limit, window, period = _redis_key(Counter(group, value, rate))
    if increment:
        # The counter lives a little longer than its window, as django-ratelimit's does.
        count = redis_script(url, _SPEND)(
            keys=[key], args=[period + ratelimit_core.EXPIRATION_FUDGE]
        )
    else:
        count = redis_script(url, _READ)(keys=[key])
    return _counted(int(count), limit, window, int(time.time()))


def exhausted(usage: dict | None) -> bool:
    """Whether one more request would go past the limit (``None``: the cache is unreachable)."""
    return usage is not None and usage["count"] >= usage["limit"]
