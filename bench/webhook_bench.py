"""Benchmark: webhook delivery throughput and lag, from SCIM writes to a local receiver.

Usage::

    .venv/bin/python bench/webhook_bench.py [--users 300] [--members 1000] [--orgs 2]
                                             [--workers 2] [--writers 4]

Creates its own database (``BENCH_DATABASE_URL``, default
``postgres://postgres@127.0.0.1:5432/kno2prov_webhook_bench``), starts gunicorn and
``--workers`` ``manage.py webhook_worker`` processes, and a receiver on 127.0.0.1 that verifies
every signature (``standardwebhooks``). For each of ``--orgs`` organizations it creates
``--users`` users over SCIM with ``--writers`` parallel clients, then one group and a single
PATCH adding ``--members`` members (one ``group.member_added`` each). Prints events/s delivered
(first to last delivery), write-to-delivery latency percentiles (from the event's ``created_at``,
taken inside the writing transaction, to its arrival), duplicates and order violations, then
drops the database.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests
from cryptography.fernet import Fernet
from harness import (
    DEMO_ISSUER,
    ROOT,
    bench_environment,
    drop_database,
    manage,
    recreate_database,
    start_servers,
)
from standardwebhooks.webhooks import Webhook

SCIM = "application/scim+json"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


class Receiver:
    def __init__(self) -> None:
        self.secrets: list[str] = []
        self.arrivals: list[tuple[float, dict]] = []
        self.bad_signatures = 0
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["content-length"]))
                arrived = time.time()
                payload = None
                for secret in receiver.secrets:
                    try:
                        payload = Webhook(secret).verify(body, dict(self.headers))
                        break
                    except Exception:  # noqa: BLE001, S112 (try the next endpoint's secret)
                        continue
                with receiver.lock:
                    if payload is None:
                        receiver.bad_signatures += 1
                    else:
                        receiver.arrivals.append((arrived, payload))
                self.send_response(200 if payload else 401)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=300)
    parser.add_argument("--members", type=int, default=1000)
    parser.add_argument("--orgs", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--writers", type=int, default=4)
    parser.add_argument(
        "--backlog",
        action="store_true",
        help="Start the workers only after every write: measures draining a "
        "backlog (as after an outage) instead of live delivery.",
    )
    args = parser.parse_args()

    database_url = os.environ.get(
        "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/kno2prov_webhook_bench"
    )
    env = bench_environment(database_url)
    env["WEBHOOK_SECRET_KEYS"] = Fernet.generate_key().decode()
    recreate_database(database_url)
    manage(env, "migrate", "--no-input", "-v0")
    receiver = Receiver()
    tenants = []
    for n in range(args.orgs):
        slug = f"bench{n}"
        manage(
            env,
            "create_organization",
            "--name",
            f"Bench {n}",
            "--slug",
            slug,
            "--issuer",
            DEMO_ISSUER,
            "--enable-provisioning",
        )
        token = json.loads(manage(env, "issue_token", slug, "--json"))
        endpoint = json.loads(
            manage(env, "add_webhook_endpoint", slug, "--url", receiver.url, "--json")
        )
        receiver.secrets.append(endpoint["secret"])
        tenants.append(
            (token["tenant_url"].replace(env["PUBLIC_BASE_URL"], "{server}"), token["token"])
        )
    servers = start_servers(env, workers=2, threads=4)
    workers: list[subprocess.Popen] = []

    def start_workers() -> None:
        workers.extend(
            subprocess.Popen(
                [sys.executable, "manage.py", "webhook_worker", "--interval", "0.1", "-v0"],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
            for _ in range(args.workers)
        )

    if not args.backlog:
        start_workers()
    try:
        server = servers.urls[0]
        started = time.time()

        def tenant_writes(tenant: tuple[str, str]) -> int:
            base, token = tenant[0].format(server=server), tenant[1]
            session = requests.Session()
            session.headers.update({"Authorization": f"Bearer {token}", "Content-Type": SCIM})

            def create(n: int) -> str:
                response = session.post(
                    f"{base}/Users", data=json.dumps({"userName": f"u{n}@bench.example"})
                )
                response.raise_for_status()
                return response.json()["id"]

            with ThreadPoolExecutor(args.writers) as pool:
                ids = list(pool.map(create, range(max(args.users, args.members))))
            group = session.post(
                f"{base}/Groups", data=json.dumps({"displayName": "Everyone", "members": []})
            ).json()["id"]
            session.patch(
                f"{base}/Groups/{group}",
                data=json.dumps(
                    {
                        "schemas": [PATCH_OP],
                        "Operations": [
                            {
                                "op": "add",
                                "path": "members",
                                "value": [{"value": i} for i in ids[: args.members]],
                            }
                        ],
                    }
                ),
            ).raise_for_status()
            return len(ids) + 1 + args.members

        with ThreadPoolExecutor(len(tenants)) as pool:
            expected = sum(pool.map(tenant_writes, tenants))
        written = time.time()
        if args.backlog:
            start_workers()
        deadline = time.time() + 600
        while len(receiver.arrivals) < expected and time.time() < deadline:
            time.sleep(0.2)
        finished = time.time()
    finally:
        for worker in workers:
            worker.terminate()
        servers.stop()

    arrivals = receiver.arrivals
    lags = [
        arrived - datetime.fromisoformat(p["created_at"].replace("Z", "+00:00")).timestamp()
        for arrived, p in arrivals
    ]
    first_arrival = min(a for a, _ in arrivals)
    last_arrival = max(a for a, _ in arrivals)
    ids = [p["id"] for _, p in arrivals]
    order_violations = 0
    last_seen: dict[str, int] = {}
    for _, payload in arrivals:
        org = payload["organization"]["slug"]
        if payload["position"] < last_seen.get(org, 0):
            order_violations += 1
        last_seen[org] = max(last_seen.get(org, 0), payload["position"])
    print(
        json.dumps(
            {
                "events_expected": expected,
                "events_delivered": len(set(ids)),
                "duplicates": len(ids) - len(set(ids)),
                "order_violations": order_violations,
                "bad_signatures": receiver.bad_signatures,
                "write_phase_s": round(written - started, 2),
                "events_written_per_s": round(expected / (written - started), 1),
                "delivered_per_s": round(
                    len(arrivals) / max(last_arrival - first_arrival, 1e-6), 1
                ),
                "drain_after_writes_s": round(finished - written, 2),
                "lag_ms_p50": round(statistics.median(lags) * 1000, 1),
                "lag_ms_p99": round(percentile(lags, 0.99) * 1000, 1),
                "lag_ms_max": round(max(lags) * 1000, 1),
                "workers": args.workers,
                "orgs": args.orgs,
                "backlog": args.backlog,
            },
            indent=2,
        )
    )
    drop_database(database_url)


if __name__ == "__main__":
    main()
