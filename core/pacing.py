"""Work-conserving pacing in Redis: a member of a pool sends at most ``rate`` requests a second
while another member of the pool is active, and runs at full speed while it is alone.

Concurrency slots (``core.concurrency``) bound how many requests of one organization run at
once, but back to back even one at a time take a whole core: on the bench's two cores the quiet
organizations' p99 was 2.4-3.0x their p99 alone beside another organization's initial cycle at
43-48 requests/s, and within 1.45x with that cycle paced to 25. Pacing holds a busy
organization to ``rate`` (Entra's gallery asks a SCIM app to take at least 25 requests/s per
tenant) only while another organization has sent a request in the last ``ACTIVE_SECONDS``.
Nobody is refused (Entra counts every 429 toward quarantine): a request over the pace waits in
the server thread that took it, at most ``max_wait_seconds``, then runs.

Scheduling is GCRA: each member keeps a theoretical arrival time in Redis, moved on by one
interval (``1 / rate``) per request; a request waits until that time less one second's worth of
requests (``rate`` may arrive at once). Time is Redis's own clock, so every server agrees.
Without ``redis_url``, with ``rate`` below 1 or while Redis cannot be reached, nothing waits.
"""

from __future__ import annotations

import logging
import time

from .redisclient import script

logger = logging.getLogger(__name__)

# How long a member counts as active after its last request.
ACTIVE_SECONDS = 10

_RESERVE = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000 + math.floor(tonumber(now_parts[2]) / 1000)
local window = tonumber(ARGV[4])
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
redis.call('PEXPIRE', KEYS[1], window)
if redis.call('ZCARD', KEYS[1]) < 2 then
  redis.call('DEL', KEYS[2])
  return 0
end
local interval = tonumber(ARGV[2])
local burst = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[2]) or '0')
if tat < now then tat = now end
local wait = tat - now - burst
if wait < 0 then wait = 0 end
local max_wait = tonumber(ARGV[5])
if max_wait >= 0 and wait > max_wait then
  return max_wait
end
redis.call('SET', KEYS[2], tat + interval, 'PX', tat - now + interval + window)
return wait
"""


def reserve(
    redis_url: str, pool: str, member: str, *, rate: int, max_wait_seconds: float | None = None
) -> float:
    """Take ``member``'s next turn in ``pool``; answers how many seconds to wait for it (0
    while the member is alone in the pool or under ``rate``). Waits for nothing itself.

    A turn further away than ``max_wait_seconds`` is not taken: the answer is
    ``max_wait_seconds`` and the member's schedule stays where it was. Otherwise a flood of
    requests that each gave up waiting and ran anyway would push the member's turns ever
    further out, and keep it waiting the full queue time long after the flood had ended.
    """
    if not redis_url or rate < 1:
        return 0.0
    interval_ms = max(1, round(1000 / rate))
    max_wait_ms = -1 if max_wait_seconds is None else round(max_wait_seconds * 1000)
    try:
        wait_ms = script(redis_url, _RESERVE)(
            keys=[f"kno2prov:pace:{pool}:active", f"kno2prov:pace:{pool}:tat:{member}"],
            args=[member, interval_ms, interval_ms * rate, ACTIVE_SECONDS * 1000, max_wait_ms],
        )
    except Exception:
        logger.warning("pacing skipped: redis unavailable pool=%s", pool, exc_info=True)
        return 0.0
    return int(wait_ms) / 1000


def pace(redis_url: str, pool: str, member: str, *, rate: int, max_wait_seconds: float) -> float:
    """Wait for ``member``'s turn in ``pool`` (see ``reserve``), at most ``max_wait_seconds``;
    answers the seconds waited."""
    wait = reserve(redis_url, pool, member, rate=rate, max_wait_seconds=max_wait_seconds)
    if wait > 0:
        time.sleep(wait)
    return wait
