"""The project's Redis connections for what Django's cache API cannot do in one round trip:
the rate limiter's counters (``core.ratelimit``), the tenant concurrency slots
(``core.concurrency``) and pacing (``core.pacing``).

* ``client(url)``: one ``redis.Redis``, with its own connection pool, per URL and process, for
  plain commands.
* ``script(url, source)``: a Lua script that every SCIM request runs (the rate limits' one round
  trip). It goes over a connection of the calling thread's own, not through the pool: redis-py's
  pool spends more of a worker's CPU per call (checking out and back a connection, its
  instrumentation hooks, argument checks) than sending the command and reading the answer do
  (README, "Issue 21, thirteenth round"). The connection is built from the same URL and
  timeouts as ``client``'s, so TLS (``rediss://``), sockets and passwords are the same.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

# Every user fails open: half a second, then the caller goes on without Redis.
_TIMEOUTS = {"socket_timeout": 0.5, "socket_connect_timeout": 0.5}


@cache
def client(url: str):  # noqa: ANN201 - a redis.Redis, imported lazily
    """A Redis client for ``url`` that gives up after half a second: every user fails open."""
    import redis

    return redis.Redis.from_url(url, **_TIMEOUTS)


@dataclass
class _Held:
    """A thread's connection to one URL, the process that opened it (a connection inherited
    across ``fork``, as gunicorn's workers are, is never used by the child), and whether it
    has answered since it was last (re)opened."""

    pid: int
    connection: Any  # a redis.connection.AbstractConnection
    answered: bool = False


class _ThreadConnections(threading.local):
    def __init__(self) -> None:
        self.by_url: dict[str, _Held] = {}


_connections = _ThreadConnections()


def _thread_connection(url: str) -> _Held:
    pid = os.getpid()
    held = _connections.by_url.get(url)
    if held is not None and held.pid == pid:
        return held
    import redis

    pool = redis.ConnectionPool.from_url(url, **_TIMEOUTS)
    held = _Held(pid, pool.connection_class(**pool.connection_kwargs))
    _connections.by_url[url] = held
    return held


class LuaScript:
    """One Lua script on one Redis URL: each call is one ``EVALSHA`` over the calling thread's
    connection, or an ``EVAL`` of the source when the server does not know the script yet (a
    new or restarted Redis). A connection the server closed since the last call (a Redis
    restart) is opened again and the call sent once more, as redis-py's own client does;
    anything else raises what redis-py raises (``redis.RedisError``), and the connection is
    dropped so the next call starts clean."""

    def __init__(self, url: str, source: str) -> None:
        from redis import exceptions

        self.url = url
        self.source = source
        # Redis names a script by the SHA-1 of its text (EVALSHA); not a security use.
        self.sha = hashlib.sha1(source.encode(), usedforsecurity=False).hexdigest()
        # Looked up once: an import statement in a call runs the import machinery every time.
        self._closed = exceptions.ConnectionError
        self._unknown_script = exceptions.NoScriptError

    def __call__(self, keys: Sequence[str] = (), args: Sequence[object] = ()) -> Any:
        held = _thread_connection(self.url)
        answered_before = held.answered
        try:
            return self._run(held, keys, args)
        except self._closed:
            if not answered_before:
                raise
        # It answered before, so the server closed it since: open it again, once.
        return self._run(held, keys, args)

    def _run(self, held: _Held, keys: Sequence[str], args: Sequence[object]) -> Any:
        connection = held.connection
        try:
            connection.send_command("EVALSHA", self.sha, len(keys), *keys, *args)
            try:
                answer = connection.read_response()
            except self._unknown_script:
                connection.send_command("EVAL", self.source, len(keys), *keys, *args)
                answer = connection.read_response()
        except BaseException:
            # Whatever went wrong, an answer may be left half read on this connection.
            connection.disconnect()
            held.answered = False
            raise
        held.answered = True
        return answer


@cache
def script(url: str, source: str) -> LuaScript:
    """The Lua ``source`` on ``url``: each call is one round trip (see ``LuaScript``)."""
    return LuaScript(url, source)
