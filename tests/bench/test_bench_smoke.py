"""The benches run as shipped: a small Azure-shaped load and a small webhook load, end to end,
against real gunicorn, and the in-process CPU and instruction benches on a small tenant.

No timing is asserted (the machine's load decides those); only that the bench starts its
servers, replays both cycles and finds the final state exactly as the requests should have
left it. It runs in its own database, next to the test database, dropped afterwards.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

pytestmark = pytest.mark.postgres_only

ROOT = Path(__file__).resolve().parents[2]


def _bench_database_url(suffix: str) -> str:
    db = settings.DATABASES["default"]
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{db['NAME']}_{suffix}"


def _run_bench(*arguments: str, suffix: str, script: str = "bench/azure_load.py") -> dict:
    """Run ``script`` on its own database; answers the JSON it ends with."""
    database_url = _bench_database_url(suffix)
    try:
        completed = subprocess.run(
            [sys.executable, script, "--database-url", database_url, *arguments]
            if script == "bench/azure_load.py"
            else [sys.executable, script, *arguments],
            cwd=ROOT,
            env={**os.environ, "BENCH_DATABASE_URL": database_url},
            capture_output=True,
            text=True,
            timeout=240,
            check=False,
        )
    finally:
        sys.path.insert(0, str(ROOT / "bench"))
        try:
            import harness

            harness.drop_database(database_url)
        finally:
            sys.path.remove(str(ROOT / "bench"))
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    output = completed.stdout.strip()
    return json.loads(output[output.rindex("\n{") + 1 :] if "\n{" in output else output)


def test_the_azure_bench_replays_a_small_load_and_finds_the_state_it_expects():
    result = _run_bench(
        "--users",
        "300",
        "--groups",
        "6",
        "--memberships",
        "900",
        "--workers",
        "2",
        "--ceiling-requests",
        "100",
        "--big-group",
        "2000",
        "--big-group-patches",
        "2",
        "--big-group-reads",
        "3",
        suffix="bench_smoke",
    )

    assert result["state_ok"] is True
    assert result["operations"]["user_create"]["count"] == 300
    # The ceiling is sampled in five bursts spread over the cycles (--ceiling-samples), and
    # the ratio divides by all of them.
    assert len(result["ceiling_burst_rps"]) == 5
    assert all(rate > 0 for rate in result["ceiling_burst_rps"])
    assert min(result["ceiling_burst_rps"]) <= result["ceiling_rps"]
    assert result["ceiling_rps"] <= max(result["ceiling_burst_rps"])
    # Each 1,000-member PATCH as the server timed it (Server-Timing): its SQL inside the
    # server's time, the server's inside what the client waited.
    timed = zip(
        result["add_1000_sql_ms"], result["add_1000_server_ms"], result["add_1000_ms"], strict=True
    )
    assert [0 < sql <= server <= client for sql, server, client in timed] == [True, True]
    # Its COMMIT, the serving thread's CPU time and the collector's pauses: each inside the
    # server's time, and the COMMIT beside the statements.
    timed = zip(
        result["add_1000_sql_ms"],
        result["add_1000_commit_ms"],
        result["add_1000_cpu_ms"],
        result["add_1000_gc_ms"],
        result["add_1000_server_ms"],
        strict=True,
    )
    assert [
        commit > 0 and sql + commit <= server and 0 < cpu <= server and 0 <= gc <= server
        for sql, commit, cpu, gc, server in timed
    ] == [True, True]
    # The test command's PostgreSQL user may list WAL segments, so the count is taken.
    assert isinstance(result["add_1000_wal_segments_added"], int)


def test_the_many_tenants_bench_measures_quiet_tenants_alone_and_beside_a_busy_one():
    result = _run_bench(
        "--tenants",
        "3",
        "--users",
        "60",
        "--groups",
        "2",
        "--memberships",
        "60",
        "--workers",
        "2",
        "--threads",
        "2",
        "--quiet-users",
        "3",
        "--quiet-seconds",
        "2",
        suffix="tenants_smoke",
    )

    assert result["state_ok"] is True
    assert result["failed_requests"] == 0
    # Two quiet tenants at 10 requests/s for at least 2 s in each phase, measured apart from
    # the busy tenant's client.
    assert result["quiet_requests"] >= 2 * 2 * 2 * 10 * 0.8
    assert result["quiet_tenant_p99_alone_ms"] > 0
    assert result["quiet_tenant_p99_ms"] > 0


def test_the_webhook_bench_delivers_every_event_once_in_order():
    result = _run_bench(
        "--users",
        "20",
        "--members",
        "30",
        "--orgs",
        "2",
        "--workers",
        "1",
        script="bench/webhook_bench.py",
        suffix="webhook_smoke",
    )

    assert result["events_expected"] == 2 * (30 + 1 + 30)
    assert result["events_delivered"] == result["events_expected"]
    assert (result["duplicates"], result["order_violations"], result["bad_signatures"]) == (0, 0, 0)


def test_the_cpu_bench_measures_every_kind_of_request_and_finds_the_state_it_expects():
    result = _run_bench(
        "--users",
        "100",
        "--requests",
        "5",
        "--rounds",
        "1",
        script="bench/cpu_per_request.py",
        suffix="cpu_smoke",
    )

    assert result["state_ok"] is True
    assert set(result["kinds"]) == {
        "ceiling",
        "user_lookup",
        "user_create",
        "user_update",
        "group_add_members",
    }
    # PostgreSQL's CPU is read from /proc here (Linux, the database on this machine): a create
    # always costs it some, so a zero would mean the bench stopped finding its processes.
    assert result["kinds"]["user_create"]["postgresql_ms"] > 0


def test_the_instructions_bench_counts_each_kind_under_callgrind():
    result = _run_bench(
        "--kinds",
        "ceiling,user_create",
        "--requests",
        "3",
        "--users",
        "5",
        script="bench/instructions_per_request.py",
        suffix="instructions_smoke",
    )

    assert set(result["instructions"]) == {"ceiling", "user_create"}
    # Instrumentation is switched on around the counted requests only: a zero would mean it
    # never was, and a create runs more code than the ceiling's token check and one read.
    assert 0 < result["instructions"]["ceiling"] < result["instructions"]["user_create"]
