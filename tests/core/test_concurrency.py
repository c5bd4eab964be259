"""Per-key concurrency slots in Redis (``core.concurrency``): one organization's burst queues,
the others run, and a Redis outage limits nothing. Against the real Redis at 127.0.0.1."""

from __future__ import annotations

import threading
import time
import uuid

from core.concurrency import slot

REDIS_URL = "redis://127.0.0.1:6379/0"
UNREACHABLE_REDIS_URL = "redis://127.0.0.1:1/0"


def _key() -> str:
    return f"test:{uuid.uuid4().hex}"


def test_a_request_over_the_limit_waits_until_a_slot_is_released():
    key = _key()
    entered = threading.Event()

    def second() -> None:
        with slot(REDIS_URL, key, limit=1, wait_seconds=10):
            entered.set()

    with slot(REDIS_URL, key, limit=1, wait_seconds=10) as first_held:
        waiter = threading.Thread(target=second)
        waiter.start()
        waited_while_held = not entered.wait(0.3)
    waiter.join(5)

    assert first_held is True
    assert waited_while_held is True
    assert entered.is_set()


def test_another_key_gets_a_slot_while_one_key_is_full():
    busy, quiet = _key(), _key()
    with slot(REDIS_URL, busy, limit=1, wait_seconds=10):
        started = time.monotonic()
        with slot(REDIS_URL, quiet, limit=1, wait_seconds=10) as held:
            waited = time.monotonic() - started

    assert held is True
    assert waited < 5  # queued, it would have waited the whole 10 s


def test_a_request_that_waited_the_whole_queue_time_runs_without_a_slot():
    key = _key()
    with (
        slot(REDIS_URL, key, limit=1, wait_seconds=10),
        slot(REDIS_URL, key, limit=1, wait_seconds=0.1) as held,
    ):
        ran = True

    assert ran is True
    assert held is False


def test_a_released_slot_is_free_for_the_next_request_at_once():
    key = _key()
    with slot(REDIS_URL, key, limit=1, wait_seconds=10):
        pass
    started = time.monotonic()
    with slot(REDIS_URL, key, limit=1, wait_seconds=10) as held:
        waited = time.monotonic() - started

    assert held is True
    assert waited < 5  # queued, it would have waited the whole 10 s


def test_an_unreachable_redis_lets_every_request_run_at_once():
    started = time.monotonic()
    with slot(UNREACHABLE_REDIS_URL, _key(), limit=1, wait_seconds=10) as held:
        waited = time.monotonic() - started

    assert held is False
    assert waited < 5  # queued, it would have waited the whole 10 s
