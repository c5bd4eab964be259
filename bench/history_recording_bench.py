"""Benchmark: what recording sync history costs each SCIM request.

Usage::

    .venv/bin/python bench/history_recording_bench.py [--rounds 4] [--users 150]

Creates its own PostgreSQL database (``BENCH_DATABASE_URL``, default
``postgres://postgres@127.0.0.1:5432/kno2prov_history_rec_bench``), then drives the real SCIM
endpoints in-process through Django's test client with an Azure-like mix (create user, lookup
by userName, PATCH displayName), alternately with the sync history's receiver of
``scim.signals.call_completed`` (``portal.recording.record_call``) connected and disconnected,
and prints the mean time per request of each and the difference. Drops the database at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import time
from pathlib import Path

from harness import drop_database, recreate_database

ROOT = Path(__file__).resolve().parent.parent
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


@contextlib.contextmanager
def without_history():
    """The SCIM layer alone: the history's receiver disconnected for the duration."""
    from portal.recording import DISPATCH_UID, record_call
    from scim.signals import call_completed

    call_completed.disconnect(dispatch_uid=DISPATCH_UID)
    try:
        yield
    finally:
        call_completed.connect(record_call, dispatch_uid=DISPATCH_UID)


def workload(client, base: str, token: str, prefix: str, users: int) -> tuple[int, float]:
    """Run the request mix; returns ``(requests, seconds)``."""
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    requests = 0
    started = time.perf_counter()
    for n in range(users):
        name = f"{prefix}-{n}@bench.test"
        found = client.get(f"{base}/Users", {"filter": f'userName eq "{name}"'}, **headers)
        created = client.post(
            f"{base}/Users",
            json.dumps(
                {
                    "schemas": [USER_SCHEMA],
                    "userName": name,
                    "active": True,
                    "displayName": f"User {n}",
                }
            ),
            content_type="application/scim+json",
            **headers,
        )
        if created.status_code != 201:
            raise RuntimeError(f"create answered {created.status_code}: {created.content[:300]!r}")
        user_id = created.json()["id"]
        patched = client.patch(
            f"{base}/Users/{user_id}",
            json.dumps(
                {
                    "schemas": [PATCH_OP],
                    "Operations": [{"op": "Replace", "path": "displayName", "value": f"User {n}b"}],
                }
            ),
            content_type="application/scim+json",
            **headers,
        )
        requests += 3
        if (found.status_code, created.status_code, patched.status_code) != (200, 201, 200):
            raise RuntimeError(
                f"unexpected statuses {found.status_code} {created.status_code} "
                f"{patched.status_code}"
            )
    return requests, time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--users", type=int, default=150, help="Users per round (3 requests each).")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    url = os.environ.get(
        "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/kno2prov_history_rec_bench"
    )
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kno2prov.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    # The per-organization rate limit would throttle a benchmark long before it measures anything.
    os.environ.setdefault("SCIM_RATE_LIMIT", "1000000/1s")
    sys.path.insert(0, str(ROOT))
    recreate_database(url)
    try:
        import django

        django.setup()
        from django.core.management import call_command
        from django.test import Client

        from organizations import services as org_services
        from portal.models import SyncEvent

        call_command("migrate", verbosity=0)
        tenant = "11111111-2222-3333-4444-555555555555"
        organization = org_services.create_organization(
            name="Bench Clinic",
            slug="bench",
            issuer=f"https://sts.windows.net/{tenant}/",
            enable_provisioning=True,
        )
        _, token = org_services.issue_token(organization, actor=None, label="bench")
        base = f"/scim/v2/{organization.public_id}"

        results: dict[str, list[float]] = {"with": [], "without": []}
        # Warm-up round of each, not counted.
        workload(Client(), base, token, "warm-with", 20)
        with without_history():
            workload(Client(), base, token, "warm-without", 20)
        for round_number in range(args.rounds):
            count, seconds = workload(Client(), base, token, f"w{round_number}", args.users)
            results["with"].append(seconds / count * 1000)
            with without_history():
                count, seconds = workload(Client(), base, token, f"o{round_number}", args.users)
            results["without"].append(seconds / count * 1000)

        # The recording step alone: the service the receiver calls, timed directly.
        from django.utils import timezone

        from core.credentials import AuthenticatedCredential
        from portal.services import record_sync_event
        from scim.calls import Operation, ResourceType, ScimCall

        credential = AuthenticatedCredential(
            organization=organization,
            kind="secret_token",
            public_id="k2p_benchbenchbe…",
            expires_at=None,
        )
        samples = []
        for _ in range(500):
            call = ScimCall(
                request_id="bench",
                method="PATCH",
                path=f"{base}/Users/x",
                tenant=organization.public_id,
                operation=Operation.UPDATE_USER,
                resource_type=ResourceType.USER,
                started_at=timezone.now(),
                credential=credential,
                resource_id="x",
                display_name="bench@bench.test",
                changes=[{"attribute": "displayName", "old": "a", "new": "b"}],
                status_code=200,
                duration_ms=1.0,
            )
            started = time.perf_counter()
            record_sync_event(call)
            samples.append((time.perf_counter() - started) * 1000)

        with_ms = statistics.mean(results["with"])
        without_ms = statistics.mean(results["without"])
        print(f"events recorded: {SyncEvent.objects.count():,}")
        print(
            f"requests per mode: {args.rounds * args.users * 3:,} "
            "(lookup, create, PATCH; in-process, PostgreSQL)"
        )
        print(
            f"mean per request with recording:    {with_ms:6.2f} ms  "
            f"(rounds: {', '.join(f'{v:.2f}' for v in results['with'])})"
        )
        print(
            f"mean per request without recording: {without_ms:6.2f} ms  "
            f"(rounds: {', '.join(f'{v:.2f}' for v in results['without'])})"
        )
        print(
            f"overhead: {with_ms - without_ms:+.2f} ms per request "
            f"({(with_ms - without_ms) / without_ms * 100:+.1f} %)"
        )
        print(
            f"record_sync_event alone: median {statistics.median(samples):.2f} ms, "
            f"p95 {sorted(samples)[474]:.2f} ms (500 calls)"
        )
        return 0
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            drop_database(url)


if __name__ == "__main__":
    sys.exit(main())
