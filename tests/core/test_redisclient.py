"""``core.redisclient.script``: the rate limits' Lua scripts over each thread's own connection,
against the real Redis at 127.0.0.1."""

from __future__ import annotations

import threading
import uuid

import pytest
import redis

from core.redisclient import _thread_connection, client, script

REDIS_URL = "redis://127.0.0.1:6379/0"
# Counts a key up and answers its new value: each call is visible in the answer.
COUNT_UP = "return redis.call('INCR', KEYS[1])"


def _key() -> str:
    return f"test:redisclient:{uuid.uuid4().hex}"


def test_a_script_runs_with_its_keys_and_arguments():
    key = _key()
    answer = script(REDIS_URL, "return {KEYS[1], ARGV[1], redis.call('INCRBY', KEYS[1], ARGV[1])}")(
        keys=[key], args=[5]
    )

    assert answer == [key.encode(), b"5", 5]


def test_a_script_the_server_forgot_is_sent_again_and_still_counts_once():
    key = _key()
    count_up = script(REDIS_URL, COUNT_UP)
    assert count_up(keys=[key]) == 1

    client(REDIS_URL).script_flush()

    assert count_up(keys=[key]) == 2
    assert int(client(REDIS_URL).get(key)) == 2


def test_a_connection_the_server_closed_is_opened_again_and_the_call_counts_once():
    key = _key()
    count_up = script(REDIS_URL, COUNT_UP)
    assert count_up(keys=[key]) == 1
    # This thread's connection, and only it, is closed by the server (as a restart would).
    own = _thread_connection(REDIS_URL).connection
    own.send_command("CLIENT", "ID")
    admin = redis.Redis.from_url(REDIS_URL)
    assert admin.client_kill_filter(_id=own.read_response()) == 1

    assert count_up(keys=[key]) == 2
    assert int(admin.get(key)) == 2


def test_threads_use_connections_of_their_own():
    key = _key()
    count_up = script(REDIS_URL, COUNT_UP)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(200):
                count_up(keys=[key])
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert errors == []
    assert int(client(REDIS_URL).get(key)) == 1600


def test_an_unreachable_redis_raises_within_the_timeout():
    with pytest.raises(redis.ConnectionError):
        script("redis://127.0.0.1:1/0", COUNT_UP)(keys=[_key()])
