"""Work-conserving pacing in Redis (``core.pacing``): an organization alone runs at full speed;
while another is active it waits for its turn past one second's burst; a Redis outage holds
nothing back. Against the real Redis at 127.0.0.1."""

from __future__ import annotations

import time
import uuid

from core.pacing import pace, reserve

REDIS_URL = "redis://127.0.0.1:6379/0"
UNREACHABLE_REDIS_URL = "redis://127.0.0.1:1/0"
RATE = 10  # requests/s: a turn every 100 ms, 10 at once without waiting


def _pool() -> str:
    return f"test:{uuid.uuid4().hex}"


def test_a_member_alone_in_its_pool_never_waits():
    pool = _pool()

    waits = [reserve(REDIS_URL, pool, "busy", rate=RATE) for _ in range(3 * RATE)]

    assert waits == [0.0] * (3 * RATE)


def test_a_member_past_its_burst_waits_one_interval_more_per_request_while_another_is_active():
    pool = _pool()
    reserve(REDIS_URL, pool, "quiet", rate=2)

    waits = [reserve(REDIS_URL, pool, "busy", rate=2) for _ in range(6)]

    # At 2 requests/s, 2 at once; the 3rd to 6th requests' turns are 0, 0.5, 1 and 1.5 s past
    # the burst (less the time this loop took).
    assert waits[:2] == [0.0, 0.0]
    for n, wait in enumerate(waits[2:]):
        assert n * 0.5 - 0.2 <= wait <= n * 0.5


def test_a_member_under_its_rate_never_waits_while_another_is_busy():
    pool = _pool()
    for _ in range(3 * RATE):
        reserve(REDIS_URL, pool, "busy", rate=RATE)
    quiet_waits = []
    for _ in range(4):
        quiet_waits.append(reserve(REDIS_URL, pool, "quiet", rate=RATE))
        time.sleep(0.15)

    assert quiet_waits == [0.0] * 4


def test_pacing_stops_once_the_others_have_gone_quiet(monkeypatch):
    monkeypatch.setattr("core.pacing.ACTIVE_SECONDS", 1)
    pool = _pool()
    reserve(REDIS_URL, pool, "quiet", rate=RATE)
    paced = [reserve(REDIS_URL, pool, "busy", rate=RATE) for _ in range(2 * RATE)]
    time.sleep(1.2)

    alone = [reserve(REDIS_URL, pool, "busy", rate=RATE) for _ in range(2 * RATE)]

    assert paced[-1] > 0
    assert alone == [0.0] * (2 * RATE)


def test_a_wait_is_never_longer_than_the_queue_time():
    pool = _pool()
    reserve(REDIS_URL, pool, "quiet", rate=RATE)
    for _ in range(RATE + 20):  # the next turn is two seconds away
        reserve(REDIS_URL, pool, "busy", rate=RATE)
    started = time.monotonic()

    waited = pace(REDIS_URL, pool, "busy", rate=RATE, max_wait_seconds=0.2)

    assert waited == 0.2
    assert time.monotonic() - started < 1


def test_requests_that_gave_up_waiting_do_not_push_the_members_turns_further_out():
    pool = _pool()
    reserve(REDIS_URL, pool, "quiet", rate=RATE)
    # A flood: turns 100 ms apart past a one-second burst, each request waiting at most 0.3 s.
    flood = [reserve(REDIS_URL, pool, "busy", rate=RATE, max_wait_seconds=0.3) for _ in range(100)]

    next_turn = reserve(REDIS_URL, pool, "busy", rate=RATE)

    assert flood[-1] == 0.3
    # Only the turns within 0.3 s were taken: the next is 0.4 s away, not 9 s.
    assert next_turn <= 0.4


def test_no_rate_and_an_unreachable_redis_hold_nothing_back():
    pool = _pool()
    reserve(REDIS_URL, pool, "quiet", rate=RATE)

    assert [reserve(REDIS_URL, pool, "busy", rate=0) for _ in range(3 * RATE)] == [0.0] * 30
    assert reserve(UNREACHABLE_REDIS_URL, _pool(), "busy", rate=RATE) == 0.0
