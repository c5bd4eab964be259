"""The project's Redis connections for what Django's cache API cannot do in one round trip:
the rate limiter's counters (``core.ratelimit``), the tenant concurrency slots
(``core.concurrency``) and pacing (``core.pacing``). One client, with its own connection pool,
per URL and process."""

from __future__ import annotations

from functools import cache


@cache
def client(url: str):  # noqa: ANN201 - a redis.Redis, imported lazily
    """A Redis client for ``url`` that gives up after half a second: every user fails open."""
    import redis

    return redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)


@cache
def script(url: str, source: str):  # noqa: ANN201 - a redis.commands.core.Script
    """The Lua ``source`` registered once on ``url``'s client: each call is one ``EVALSHA``
    (redis-py sends the script itself again if the server has lost it)."""
    return client(url).register_script(source)
