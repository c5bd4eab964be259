"""Instructions per SCIM request, by kind of request: the measure that does not drift.

Usage::

    .venv/bin/python bench/instructions_per_request.py [--kinds ceiling,user_lookup,user_create]
        [--requests 100] [--users 150]

On a machine whose CPU speed drifts (the same Python loop taking 83-140 ms from one second to
the next), ``cpu_per_request.py``'s CPU times move by more than most changes do. This counts
instructions instead, with ``valgrind --tool=callgrind`` (Debian's ``valgrind``): the same
code, data and requests give the same count to about 0.1 %, whatever else the machine runs.

Each kind runs in a child Python under callgrind with instrumentation off: the child sets up
its own database, tenant and ``--users`` users, warms the kind's path, and only then is
instrumentation turned on (``callgrind_control``) for ``--requests`` requests of that kind
(``cpu_per_request.py``'s workload, through Django's WSGI handler) and the history they queue,
which the child's writer thread writes meanwhile, as a gunicorn worker's does. Counted: the
app's process, every thread. Not counted: the kernel (system calls, round trips), PostgreSQL
and Redis, which ``cpu_per_request.py`` measures in time. Under valgrind a request takes
tens of milliseconds, so the history writer flushes about one event at a time; its fixed cost
per flush (about 1 M instructions) then falls on every request, where a busy worker spreads it
over several. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cpu_per_request import KINDS, Workload, check_state, in_process_tenant

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_KINDS = "ceiling,user_lookup,user_create"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/kno2prov_instructions_bench"
# How long a child waits for the parent to switch instrumentation on or off.
HANDSHAKE_SECONDS = 120


def _wait_for(path: Path, child: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + HANDSHAKE_SECONDS
    while not path.exists():
        if child is not None and child.poll() is not None:
            raise SystemExit(f"the measured process ended early (exit {child.returncode})")
        if time.monotonic() > deadline:
            raise SystemExit(f"gave up waiting for {path.name}")
        time.sleep(0.2)


def run_child(kind: str, requests: int, users: int, database_url: str, signals: Path) -> None:
    """Inside valgrind: set up, say ``ready``, run the requests once told ``on``, say ``done``."""
    with in_process_tenant(database_url) as (tenant, writer, organization_id):
        settle = (writer.interval_seconds if writer else 0) * 3 + 0.5
        workload = Workload(tenant, [tenant.create_user(n) for n in range(users)])
        workload.prepare(kind, 5)
        workload.run(kind, 5)  # warm the path, uncounted
        workload.prepare(kind, requests)
        time.sleep(settle)
        (signals / "ready").touch()
        _wait_for(signals / "on")
        workload.run(kind, requests)
        time.sleep(settle)  # the writer thread writes what these requests queued
        (signals / "done").touch()
        _wait_for(signals / "off")
        problems = check_state(workload, organization_id, users)
    if problems:
        raise SystemExit("final state differs: " + "; ".join(problems))


def count_instructions(kind: str, args: argparse.Namespace) -> int:
    """Instructions the app executed for ``args.requests`` requests of ``kind``."""
    with tempfile.TemporaryDirectory(prefix="kno2prov-callgrind-") as scratch:
        signals = Path(scratch)
        output = signals / "callgrind.out"
        child = subprocess.Popen(
            [
                "valgrind",
                "--tool=callgrind",
                "--instr-atstart=no",
                f"--callgrind-out-file={output}",
                sys.executable,
                str(Path(__file__).resolve()),
                "--child",
                kind,
                "--requests",
                str(args.requests),
                "--users",
                str(args.users),
                "--database-url",
                args.database_url,
                "--signals",
                scratch,
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            _wait_for(signals / "ready", child)
            _callgrind_control("--instr=on", child.pid)
            (signals / "on").touch()
            _wait_for(signals / "done", child)
            _callgrind_control("--instr=off", child.pid)
            (signals / "off").touch()
            log, _ = child.communicate(timeout=HANDSHAKE_SECONDS * 5)
        finally:
            if child.poll() is None:
                child.kill()
        if child.returncode != 0:
            raise SystemExit(f"{kind}: the measured process failed\n{log[-3000:]}")
        # One file per dump: the main output, and any written before the end. A file's
        # ``totals:`` line counts what was instrumented (its ``summary:`` line, written at the
        # start, says 0 when instrumentation started off).
        totals = [
            int(found.group(1))
            for path in signals.glob("callgrind.out*")
            for found in [re.search(r"^totals: (\d+)", path.read_text(), re.M)]
            if found
        ]
        if not totals:
            raise SystemExit(f"{kind}: callgrind wrote no totals\n{log[-3000:]}")
        return sum(totals)


def _callgrind_control(option: str, pid: int) -> None:
    subprocess.run(
        ["callgrind_control", option, str(pid)], check=True, capture_output=True, timeout=60
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--kinds",
        default=DEFAULT_KINDS,
        help=f"comma-separated, of {', '.join(KINDS)} (default {DEFAULT_KINDS})",
    )
    parser.add_argument("--requests", type=int, default=100, help="counted per kind")
    parser.add_argument("--users", type=int, default=150, help="users created first")
    parser.add_argument(
        "--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)
    )
    parser.add_argument("--child", choices=KINDS, help=argparse.SUPPRESS)
    parser.add_argument("--signals", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run_child(args.child, args.requests, args.users, args.database_url, Path(args.signals))
        return
    kinds = [kind.strip() for kind in args.kinds.split(",") if kind.strip()]
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown:
        parser.error(f"unknown kinds: {', '.join(unknown)}")
    if args.users < 100 and "group_add_members" in kinds:
        parser.error("--users must be at least 100 for group_add_members")
    for tool in ("valgrind", "callgrind_control"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is not installed (Debian's valgrind package)")

    per_request = {kind: count_instructions(kind, args) / args.requests for kind in kinds}
    print(f"Instructions per request ({args.requests} requests of each kind, {args.users} users)")
    ceiling = per_request.get("ceiling")
    for kind, count in per_request.items():
        beyond = f"{(count - ceiling) / 1e6:+.2f} M beyond the ceiling" if ceiling else ""
        print(f"{kind:20s} {count / 1e6:8.2f} M  {beyond}")
    result: dict = {
        "requests": args.requests,
        "users": args.users,
        "instructions": {kind: round(count) for kind, count in per_request.items()},
    }
    if ceiling and "user_lookup" in per_request and "user_create" in per_request:
        cycle = (per_request["user_lookup"] + per_request["user_create"]) / 2
        result["initial_cycle_instruction_ratio"] = round(ceiling / cycle, 3)
        print(f"Azure's initial cycle: {ceiling / cycle:.3f} of the ceiling's rate by instructions")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
