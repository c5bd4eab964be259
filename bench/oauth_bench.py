"""Token endpoint throughput, and SCIM throughput with OAuth access tokens against Secret Tokens.

    .venv/bin/python bench/oauth_bench.py                  # 20 s per phase, 8 client threads
    .venv/bin/python bench/oauth_bench.py --seconds 5 --threads 4

Starts its own gunicorn (production config, ``BENCH_MODE=true``) on a fresh PostgreSQL database
(``--database-url``, default ``postgres://postgres@127.0.0.1:5432/kno2prov_bench_oauth``,
dropped and recreated), one organization with a Secret Token and an OAuth client, then runs:

1. ``token``: client-credentials token requests (``client_secret_basic``) per second;
2. ``scim``: the same SCIM mix (Test Connection lookups, user creates, PATCHes) with a Secret
   Token and with an OAuth access token, interleaved in the same run so both see the same
   server, database and cache state.

The last line printed is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import harness
import requests

SCIM = "application/scim+json"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"


def _run_for(seconds: float, threads: int, work) -> dict:
    """Call ``work(session)`` from ``threads`` threads for ``seconds``; latencies and errors."""
    stop = time.monotonic() + seconds
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()

    def loop() -> None:
        nonlocal errors
        session = requests.Session()
        while time.monotonic() < stop:
            started = time.perf_counter()
            ok = work(session)
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed)
                errors += 0 if ok else 1

    began = time.monotonic()
    with ThreadPoolExecutor(threads) as pool:
        for future in [pool.submit(loop) for _ in range(threads)]:
            future.result()
    wall = time.monotonic() - began
    latencies.sort()
    return {
        "requests": len(latencies),
        "errors": errors,
        "per_second": round(len(latencies) / wall, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 2) if latencies else None,
        "p95_ms": round(latencies[int(len(latencies) * 0.95) - 1] * 1000, 2) if latencies else None,
    }


def scim_work(tenant_url: str, bearer: str):
    headers = {"Authorization": f"Bearer {bearer}", "Content-Type": SCIM}
    counter = iter(range(10**9))

    def work(session: requests.Session) -> bool:
        n = next(counter)
        if n % 3 == 0:  # Test Connection / match lookup
            response = session.get(
                f"{tenant_url}/Users",
                headers=headers,
                timeout=30,
                params={"filter": f'userName eq "{uuid.uuid4()}"'},
            )
            return response.status_code == 200
        body = {
            "schemas": [USER],
            "userName": f"{uuid.uuid4().hex[:12]}@bench.test",
            "active": True,
        }
        response = session.post(
            f"{tenant_url}/Users", data=json.dumps(body), headers=headers, timeout=30
        )
        if response.status_code != 201:
            return False
        if n % 3 == 2:
            patch = {
                "schemas": [PATCH_OP],
                "Operations": [{"op": "Replace", "path": "active", "value": False}],
            }
            response = session.patch(
                f"{tenant_url}/Users/{response.json()['id']}",
                data=json.dumps(patch),
                headers=headers,
                timeout=30,
            )
            return response.status_code == 200
        return True

    return work


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url", default="postgres://postgres@127.0.0.1:5432/kno2prov_bench_oauth"
    )
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--workers", type=int, default=0, help="gunicorn workers (default: conf)")
    args = parser.parse_args()

    env = {
        **harness.bench_environment(args.database_url),
        # Measure the endpoint, not its limiter.
        "OAUTH_TOKEN_RATE_LIMIT": "100000000/10m",
        "OAUTH_TOKEN_FAILURE_RATE": "100000000/5m",
    }
    harness.recreate_database(args.database_url)
    secret_token, public_id = harness.provision_tenant(env)
    issued = json.loads(harness.manage(env, "issue_oauth_client", "bench", "--json"))
    servers = harness.start_servers(env, workers=args.workers)
    try:
        base = servers.urls[0]
        tenant_url = f"{base}/scim/v2/{public_id}"
        token_url = f"{base}/oauth/{public_id}/token"
        credentials = (issued["client_id"], issued["client_secret"])

        def token_work(session: requests.Session) -> bool:
            response = session.post(
                token_url, data={"grant_type": "client_credentials"}, auth=credentials, timeout=30
            )
            return response.status_code == 200

        results: dict = {"threads": args.threads, "seconds_per_phase": args.seconds}
        results["token_endpoint"] = _run_for(args.seconds, args.threads, token_work)
        access_token = requests.post(
            token_url, data={"grant_type": "client_credentials"}, auth=credentials, timeout=30
        ).json()["access_token"]

        # Interleave short rounds so both credentials see the same server and table sizes.
        rounds = 4
        totals = {"secret_token": [], "oauth_access_token": []}
        for _ in range(rounds):
            for name, bearer in (
                ("secret_token", secret_token),
                ("oauth_access_token", access_token),
            ):
                totals[name].append(
                    _run_for(args.seconds / rounds, args.threads, scim_work(tenant_url, bearer))
                )
        for name, parts in totals.items():
            requests_done = sum(part["requests"] for part in parts)
            results[f"scim_{name}"] = {
                "requests": requests_done,
                "errors": sum(part["errors"] for part in parts),
                "per_second": round(statistics.mean(part["per_second"] for part in parts), 1),
                "p50_ms": round(statistics.median(part["p50_ms"] for part in parts), 2),
            }
        for key, value in results.items():
            print(f"{key}: {value}", file=sys.stderr)
        print(json.dumps(results))
    finally:
        servers.stop()
        harness.drop_database(args.database_url)


if __name__ == "__main__":
    main()
