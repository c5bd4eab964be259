"""A fail-open counting semaphore in Redis: how many requests of one key may run at once.

SCIM holds one slot per organization while a call runs (``scim.auth``), so an organization
whose Azure job sends its initial cycle at full speed has at most ``SCIM_TENANT_CONCURRENCY``
requests in the app servers at a time; the rest of its requests wait here, briefly, in the
server thread that took them, and the other organizations' requests find free threads instead
of queuing behind them. Nobody is refused: a request that waited ``SCIM_TENANT_QUEUE_SECONDS``
runs anyway (Entra counts every 429 toward quarantine, a slow answer it does not).

The slots are a sorted set per key (members: one random id per holder, scored by when the hold
lapses), so a worker killed while holding one frees it after ``hold_seconds``. Every server
shares them through ``REDIS_URL``; without it, or while Redis cannot be reached, nothing is
limited (fail open: provisioning never stops for the limiter).
"""

from __future__ import annotations

import contextlib
import logging
import time
import uuid
from collections.abc import Iterator

from .redisclient import client, script

logger = logging.getLogger(__name__)

_ACQUIRE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[4])
  redis.call('PEXPIRE', KEYS[1], ARGV[5])
  return 1
end
return 0
"""


@contextlib.contextmanager
def slot(
    redis_url: str,
    key: str,
    *,
    limit: int,
    wait_seconds: float,
    hold_seconds: float = 60.0,
) -> Iterator[bool]:
    """Hold one of ``limit`` slots of ``key`` while the block runs; yields whether it did.

    Waits up to ``wait_seconds`` for a slot (polling every few milliseconds), then runs the
    block without one. No ``redis_url``, ``limit`` below 1 or an unreachable Redis: runs the
    block at once without a slot.
    """
    if not redis_url or limit < 1:
        yield False
        return
    holder = uuid.uuid4().hex
    redis_key = f"kno2prov:slots:{key}"
    held = False
    try:
        acquire = script(redis_url, _ACQUIRE)
        deadline = time.monotonic() + wait_seconds
        pause = 0.002
        while True:
            now = time.time()
            if acquire(
                keys=[redis_key],
                args=[now, limit, now + hold_seconds, holder, int(hold_seconds * 1000)],
            ):
                held = True
                break
            if time.monotonic() >= deadline:
                logger.warning("concurrency slot wait ran out key=%s; running anyway", key)
                break
            time.sleep(pause)
            pause = min(pause * 2, 0.025)
    except Exception:
        logger.warning("concurrency slots skipped: redis unavailable key=%s", key, exc_info=True)
    try:
        yield held
    finally:
        if held:
            try:
                client(redis_url).zrem(redis_key, holder)
            except Exception:
                # The hold lapses by itself after hold_seconds.
                logger.warning("concurrency slot not released key=%s", key, exc_info=True)
