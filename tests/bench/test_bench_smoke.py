"""The bench runs as shipped: a small Azure-shaped load, end to end, against real gunicorn.

No timing is asserted (the machine's load decides those); only that the bench starts its
servers, replays both cycles and finds the final state exactly as the requests should have
left it. It runs in its own database, next to the test database, dropped afterwards.
"""

from __future__ import annotations

import json
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


def _run_bench(*arguments: str, suffix: str) -> dict:
    database_url = _bench_database_url(suffix)
    try:
        completed = subprocess.run(
            [
                sys.executable,
                "bench/azure_load.py",
                "--database-url",
                database_url,
                *arguments,
            ],
            cwd=ROOT,
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
    return json.loads(completed.stdout.strip().splitlines()[-1])


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
