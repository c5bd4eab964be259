"""Benchmark: the portal's event list with 1,000,000 sync events in PostgreSQL.

Usage::

    .venv/bin/python bench/history_bench.py [--events 1000000] [--runs 20]

Creates its own database (``BENCH_DATABASE_URL``, default
``postgres://postgres@127.0.0.1:5432/kno2prov_history_bench``), migrates it, generates the
events in SQL (``INSERT … SELECT generate_series``), then times the event list pages through
Django's test client as a signed-in tenant admin: the first page, filtered pages and a deep
keyset page. Prints median and 95th percentile per page and whether each stays under the 100 ms
budget, times a retention prune of the oldest few days, then drops the database.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

from harness import drop_database, recreate_database

BUDGET_MS = 100.0
ROOT = Path(__file__).resolve().parent.parent
OPERATIONS = [
    ("create_user", "User", 201),
    ("update_user", "User", 200),
    ("deactivate_user", "User", 200),
    ("reactivate_user", "User", 200),
    ("delete_user", "User", 204),
    ("get_user", "User", 200),
    ("list_users", "User", 200),
    ("create_group", "Group", 201),
    ("update_members", "Group", 204),
    ("rename_group", "Group", 200),
    ("list_groups", "Group", 200),
    ("test_connection", "User", 200),
]


def generate(organization_id: int, others: list[int], events: int, other_events: int) -> None:
    """Events two seconds apart ending now, 1 in 20 failing, cycles of 500 events."""
    from django.db import connection

    ops = ",".join(f"'{op}'" for op, _, _ in OPERATIONS)
    types = ",".join(f"'{kind}'" for _, kind, _ in OPERATIONS)
    codes = ",".join(str(code) for _, _, code in OPERATIONS)
    n_ops = len(OPERATIONS)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO portal_synccycle (organization_id, started_at, last_event_at, events,
                created, updated, deactivated, deleted, membership_changes, failures)
            SELECT %s, now() - (%s - c * 500) * interval '2 seconds',
                   now() - (%s - c * 500 - 499) * interval '2 seconds',
                   500, 40, 120, 40, 40, 80, 25
            FROM generate_series(0, %s / 500 - 1) AS c
            """,
            [organization_id, events, events, events],
        )
        # Only this module's constants are interpolated; the values are bound parameters.
        insert_events = f"""
                INSERT INTO portal_syncevent (organization_id, cycle_id, created_at, request_id,
                    token_id, token_label, token_prefix, method, path, operation, summary,
                    resource_type, resource_id, external_id, subject, subject_key, changes,
                    members_added,
                    members_removed, filter, results, status_code, succeeded, error_type,
                    error_detail, duration_ms)
                SELECT %s, NULL, now() - (%s - i) * interval '2 seconds',
                       md5(i::text), NULL, 'Azure AD', 'k2p_benchbenchbe…',
                       'POST', '/scim/v2/bench/Users',
                       (ARRAY[{ops}])[1 + ((i::bigint * 7919) %% {n_ops})::int],
                       'Bench event ' || i,
                       (ARRAY[{types}])[1 + ((i::bigint * 7919) %% {n_ops})::int],
                       md5((i %% 50000)::text), 'ext-' || (i %% 50000),
                       'user' || (i %% 50000) || '@bench.test',
                       'user' || (i %% 50000) || '@bench.test', '[]'::jsonb, 0, 0, '', NULL,
                       CASE WHEN i %% 20 = 0 THEN 409
                            ELSE (ARRAY[{codes}])[1 + ((i::bigint * 7919) %% {n_ops})::int] END,
                       i %% 20 <> 0,
                       CASE WHEN i %% 20 = 0 THEN 'uniqueness' ELSE '' END,
                       CASE WHEN i %% 20 = 0 THEN 'userName is already taken' ELSE '' END,
                       3.5
                FROM generate_series(1, %s) AS i
                """  # noqa: S608
        for org_id, count in [(organization_id, events)] + [(o, other_events) for o in others]:
            cursor.execute(insert_events, [org_id, count, count])
        cursor.execute("ANALYZE portal_syncevent")
        cursor.execute("ANALYZE portal_synccycle")


def timed(client, url: str, params: dict, runs: int) -> list[float]:
    client.get(url, params)  # warm caches and connection
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(url, params)
        samples.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise RuntimeError(f"{url} answered {response.status_code}")
    return samples


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument(
        "--other-events",
        type=int,
        default=50_000,
        help="Events of each of 4 other organizations sharing the table.",
    )
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--keep", action="store_true", help="Keep the database afterwards.")
    args = parser.parse_args()

    url = os.environ.get(
        "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/kno2prov_history_bench"
    )
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kno2prov.settings")
    sys.path.insert(0, str(ROOT))
    recreate_database(url)
    try:
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection
        from django.test import Client
        from django.urls import reverse

        from organizations import services as org_services
        from portal import history
        from portal import services as portal_services
        from portal.models import SyncEvent

        started = time.perf_counter()
        call_command("migrate", verbosity=0)
        tenant = "11111111-2222-3333-4444-555555555555"
        organization = org_services.create_organization(
            name="Bench Clinic",
            slug="bench",
            issuer=f"https://sts.windows.net/{tenant}/",
            enable_provisioning=True,
        )
        others = [
            org_services.create_organization(name=f"Other {n}", slug=f"other-{n}").pk
            for n in range(4)
        ]
        print(f"migrated in {time.perf_counter() - started:.1f} s")

        started = time.perf_counter()
        generate(organization.pk, others, args.events, args.other_events)
        total = SyncEvent.objects.count()
        print(
            f"generated {total:,} events ({args.events:,} in the benchmarked organization) "
            f"in {time.perf_counter() - started:.1f} s"
        )

        user = portal_services.create_tenant_admin(
            username="bench.admin",
            email="bench@bench.test",
            organizations=[organization],
            actor=None,
        )
        client = Client()
        client.force_login(user)
        url_list = reverse("portal:event_list", args=[organization.slug])
        middle = history.events_for(organization, history.EventFilters())[
            args.events // 2 : args.events // 2 + 1
        ].get()
        pages = [
            ("first page", url_list, {}),
            ("failures", url_list, {"outcome": "failure"}),
            ("operation = deactivate_user", url_list, {"operation": "deactivate_user"}),
            ("one user", url_list, {"user": "user4242@bench.test"}),
            (
                "failed creates (two filters)",
                url_list,
                {"operation": "create_user", "outcome": "failure"},
            ),
            (
                "last 24 hours, failures",
                url_list,
                {
                    "outcome": "failure",
                    "since": time.strftime("%Y-%m-%dT%H:%M", time.gmtime(time.time() - 86400)),
                },
            ),
            (
                f"deep page ({args.events // 2:,} events back)",
                url_list,
                {"before": history.encode_cursor(middle)},
            ),
            ("dashboard", reverse("portal:dashboard", args=[organization.slug]), {}),
            ("API first page", reverse("portal:api_events", args=[organization.slug]), {}),
        ]
        print(f"\n{'page':<34}{'median ms':>10}{'p95 ms':>10}  budget {BUDGET_MS:.0f} ms")
        failed = False
        for label, url_page, params in pages:
            samples = sorted(timed(client, url_page, params, args.runs))
            median = statistics.median(samples)
            p95 = samples[max(int(len(samples) * 0.95) - 1, 0)]
            within = median < BUDGET_MS
            failed |= not within and label != "dashboard"
            print(f"{label:<34}{median:>10.1f}{p95:>10.1f}  {'ok' if within else 'OVER'}")
        started = time.perf_counter()
        deleted, cycles = portal_services.prune_sync_history(older_than_days=20)
        seconds = time.perf_counter() - started
        print(
            f"\nprune_sync_history --days 20: {deleted:,} events and {cycles:,} cycles "
            f"deleted in {seconds:.1f} s ({deleted / max(seconds, 0.001):,.0f} events/s, "
            "batches of 10,000)"
        )
        connection.close()
        return 1 if failed else 0
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            drop_database(url)


if __name__ == "__main__":
    sys.exit(main())
