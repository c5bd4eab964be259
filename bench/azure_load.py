"""Replay Azure-AD-shaped provisioning cycles against a running gunicorn server and print figures.

    .venv/bin/python bench/azure_load.py              # 10,000 users, 100 groups, 50,000 members
    .venv/bin/python bench/azure_load.py --users 100000 --memberships 500000
    .venv/bin/python bench/azure_load.py --servers 2  # two app servers, one database

By default it starts its own server(s): a fresh PostgreSQL database (``--database-url``, default
``postgres://postgres@127.0.0.1:5432/kno2prov_bench``, dropped and recreated), migrations, one
organization and token, then gunicorn with the production config and ``BENCH_MODE=true`` (which
adds ``X-Query-Count`` to responses and a bare "ceiling" view). With ``--url``, ``--tenant-url``
and ``--token`` it drives a server you started yourself instead (without query counts unless
that server runs with ``BENCH_MODE=true``).

The initial cycle does what Azure does for every object in scope: a filter lookup, then a
create; for groups, a lookup, a create, then multi-member PATCHes. The incremental cycle updates
attributes, deactivates users and removes members (in both PATCH dialects). The ceiling (a bare
Django view with the same token check and one indexed query) is sampled in ``--ceiling-samples``
bursts spread over the cycles: one after each equal slice of the users phase and one after the
incremental cycle, none of them counted in the cycles' time. Throughput on a shared machine drifts
by a fifth within a minute, so one burst at the end would set the ratio by the luck of its ten
seconds; the ratio divides by all the bursts' requests over all their time, and every burst is
printed. Then a 20,000-member group: PATCHes adding 1,000 members, and reads with
``excludedAttributes=members`` against a 10-member group.

Every run ends by checking the server's final state is exactly what the requests should produce
(with ``--servers 2``: what one server would have produced). The last line printed is one JSON
object.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import shutil
import statistics
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import cycle

import harness
import requests

try:
    from tqdm import tqdm
except ImportError:  # the bench extra is not installed (the test command's smoke run)

    class tqdm:  # noqa: N801 - stands in for tqdm's name
        """No progress bar: the same calls, printing only ``write``."""

        def __init__(self, *args, **kwargs) -> None:
            pass

        def __enter__(self) -> tqdm:
            return self

        def __exit__(self, *exc) -> None:
            return None

        def update(self, n: int = 1) -> None:
            pass

        @staticmethod
        def write(message: str) -> None:
            print(message, file=sys.stderr)


SCIM = "application/scim+json"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ENTERPRISE_USER = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
USER_SCHEMAS = [
    "urn:ietf:params:scim:schemas:core:2.0:User",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
]


# --------------------------------------------------------------------------------------- measuring
@dataclass
class Stats:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    queries: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    failures: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, operation: str, seconds: float, response: requests.Response, ok: bool) -> None:
        with self.lock:
            self.latencies[operation].append(seconds)
            if "X-Query-Count" in response.headers:
                self.queries[operation].append(int(response.headers["X-Query-Count"]))
            if not ok:
                self.failures[operation] += 1

    def count(self) -> int:
        return sum(len(values) for values in self.latencies.values())


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def server_timing(response: requests.Response) -> dict[str, float]:
    """The bench server's ``Server-Timing`` in milliseconds (``app``: the request inside
    Django; ``sql``: its statements; ``commit``: its ``COMMIT``; ``cpu``: its thread's CPU
    time; ``gc``: the garbage collector's pauses meanwhile; ``scim.benchmarking``); empty
    from a server not in bench mode (``--url``)."""
    timings = {}
    for entry in response.headers.get("Server-Timing", "").split(","):
        name, _, duration = entry.strip().partition(";dur=")
        try:
            timings[name] = float(duration)
        except ValueError:
            continue
    return timings


class Client:
    """One keep-alive session per thread, round-robin over the tenant URLs of each server."""

    def __init__(self, tenant_urls: list[str], token: str, stats: Stats) -> None:
        self.tenant_urls = tenant_urls
        self.token = token
        self.stats = stats
        self.local = threading.local()
        self.counter = cycle(range(len(tenant_urls)))
        self.counter_lock = threading.Lock()

    def _session(self) -> requests.Session:
        if not hasattr(self.local, "session"):
            session = requests.Session()
            session.headers.update({"Authorization": f"Bearer {self.token}", "Accept": SCIM})
            self.local.session = session
        return self.local.session

    def call(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        expect: tuple[int, ...],
        body: dict | None = None,
        params: dict | None = None,
    ) -> requests.Response:
        with self.counter_lock:
            base = self.tenant_urls[next(self.counter)]
        data = json.dumps(body) if body is not None else None
        headers = {"Content-Type": SCIM} if body is not None else {}
        started = time.perf_counter()
        response = self._session().request(
            method, base + path, data=data, params=params, headers=headers, timeout=60
        )
        elapsed = time.perf_counter() - started
        ok = response.status_code in expect
        self.stats.add(operation, elapsed, response, ok)
        if not ok:
            tqdm.write(
                f"{operation}: {method} {path} -> {response.status_code} {response.text[:200]}"
            )
        return response


def run_parallel(label: str, jobs: list, concurrency: int, work) -> list:
    results = [None] * len(jobs)
    with (
        tqdm(total=len(jobs), desc=label, unit="obj", file=sys.stderr, leave=False) as bar,
        ThreadPoolExecutor(max_workers=concurrency) as pool,
    ):

        def run(index_job):
            index, job = index_job
            results[index] = work(job)
            bar.update(1)

        list(pool.map(run, enumerate(jobs)))
    return results


# --------------------------------------------------------------------------------------- workload
def user_body(i: int) -> dict:
    return {
        "schemas": USER_SCHEMAS,
        "externalId": f"ext-{i:07d}",
        "userName": f"user{i:07d}@bench.example",
        "active": True,
        "displayName": f"Bench User {i}",
        "name": {"givenName": "Bench", "familyName": f"User{i}"},
        "emails": [{"primary": True, "type": "work", "value": f"user{i:07d}@bench.example"}],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
            "department": f"Dept {i % 17}",
            "employeeNumber": str(i),
        },
        "meta": {"resourceType": "User"},
        "roles": [],
    }


def group_members(group: int, groups: int, users: int, memberships: int) -> list[int]:
    """Deterministic, evenly spread membership: which user indexes belong to ``group``."""
    per_group = memberships // groups + (1 if group < memberships % groups else 0)
    per_group = min(per_group, users)
    start = (group * 7919) % users
    return [(start + j) % users for j in range(per_group)]


def initial_cycle(
    client: Client, args, after_each_user_slice: Callable[[], None] | None = None
) -> tuple[list[str], list[str], dict[int, set[int]]]:
    """Users then groups, as Azure's initial cycle. Given ``after_each_user_slice`` (a burst
    of the ceiling), the users phase runs in ``--ceiling-samples`` - 1 slices, each followed by
    it."""

    def provision_user(i: int) -> str:
        body = user_body(i)
        found = client.call(
            "user_lookup",
            "GET",
            "/Users",
            expect=(200,),
            params={"filter": f'userName eq "{body["userName"]}"'},
        )
        resources = found.json().get("Resources", []) if found.ok else []
        if resources:
            return resources[0]["id"]
        created = client.call("user_create", "POST", "/Users", body=body, expect=(201,))
        return created.json()["id"]

    user_ids: list[str] = []
    pauses = after_each_user_slice is not None and args.ceiling_samples > 1
    for users in slices(list(range(args.users)), args.ceiling_samples - 1 if pauses else 1):
        user_ids += run_parallel("users (lookup+create)", users, args.concurrency, provision_user)
        if pauses:
            after_each_user_slice()
    membership: dict[int, set[int]] = {}

    def provision_group(g: int) -> str:
        name = f"Bench Group {g:04d}"
        client.call(
            "group_lookup",
            "GET",
            "/Groups",
            expect=(200,),
            params={"excludedAttributes": "members", "filter": f'displayName eq "{name}"'},
        )
        created = client.call(
            "group_create",
            "POST",
            "/Groups",
            expect=(201,),
            body={
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                "externalId": f"gext-{g:04d}",
                "displayName": name,
                "members": [],
                "meta": {"resourceType": "Group"},
            },
        )
        group_id = created.json()["id"]
        members = group_members(g, args.groups, args.users, args.memberships)
        membership[g] = set(members)
        for start in range(0, len(members), args.members_per_patch):
            chunk = members[start : start + args.members_per_patch]
            client.call(
                "group_add_members",
                "PATCH",
                f"/Groups/{group_id}",
                expect=(204,),
                body={
                    "schemas": [PATCH_OP],
                    "Operations": [
                        {
                            "op": "Add",
                            "path": "members",
                            "value": [{"$ref": None, "value": user_ids[u]} for u in chunk],
                        }
                    ],
                },
            )
        return group_id

    group_ids = run_parallel(
        "groups (lookup+create+members)",
        list(range(args.groups)),
        args.concurrency,
        provision_group,
    )
    return user_ids, group_ids, membership


def incremental_cycle(
    client: Client, args, user_ids: list[str], group_ids: list[str], membership: dict[int, set[int]]
) -> dict:
    rng = random.Random(7)
    indexes = list(range(args.users))
    rng.shuffle(indexes)
    updated = indexes[: args.users // 20]
    deactivated = indexes[args.users // 20 : args.users // 20 + args.users // 50]

    def update(i: int) -> None:
        client.call(
            "user_update",
            "PATCH",
            f"/Users/{user_ids[i]}",
            expect=(200, 204),
            body={
                "schemas": [PATCH_OP],
                "Operations": [
                    {"op": "Replace", "path": "displayName", "value": f"Renamed User {i}"},
                    {
                        "op": "Replace",
                        "path": f"{ENTERPRISE_USER}:department",
                        "value": "Cardiology",
                    },
                ],
            },
        )

    def deactivate(i: int) -> None:
        client.call(
            "user_deactivate",
            "PATCH",
            f"/Users/{user_ids[i]}",
            expect=(200, 204),
            body={
                "schemas": [PATCH_OP],
                "Operations": [{"op": "Replace", "path": "active", "value": "False"}],
            },
        )

    def remove_members(g: int) -> None:
        members = sorted(membership[g])[: args.removals_per_group]
        if not members:
            return
        half = len(members) // 2
        legacy, flagged = members[:half], members[half:]
        operations = []
        if legacy:
            operations.append(
                {
                    "op": "Remove",
                    "path": "members",
                    "value": [{"value": user_ids[u]} for u in legacy],
                }
            )
        operations += [
            {"op": "remove", "path": f'members[value eq "{user_ids[u]}"]'} for u in flagged
        ]
        client.call(
            "group_remove_members",
            "PATCH",
            f"/Groups/{group_ids[g]}",
            expect=(204,),
            body={"schemas": [PATCH_OP], "Operations": operations},
        )
        membership[g] -= set(members)

    run_parallel("attribute updates", updated, args.concurrency, update)
    run_parallel("deactivations", deactivated, args.concurrency, deactivate)
    run_parallel("member removals", list(range(args.groups)), args.concurrency, remove_members)
    return {"updated": set(updated), "deactivated": set(deactivated)}


def slices(items: list, count: int) -> list[list]:
    """``items`` in ``count`` consecutive slices of (nearly) equal size, none empty."""
    count = max(1, min(count, len(items)))
    size, extra = divmod(len(items), count)
    bounds = [n * size + min(n, extra) for n in range(count + 1)]
    return [items[bounds[n] : bounds[n + 1]] for n in range(count)]


@dataclass
class Ceiling:
    """The bare view's throughput, measured in bursts spread over the run (``sample``)."""

    base_urls: list[str]
    public_id: str
    token: str
    args: argparse.Namespace
    bursts: list[tuple[int, float]] = field(default_factory=list)

    def sample(self) -> None:
        """One burst of ``--ceiling-requests`` / ``--ceiling-samples`` requests."""
        count = max(1, self.args.ceiling_requests // max(1, self.args.ceiling_samples))
        seconds = measure_ceiling(self.base_urls, self.public_id, self.token, self.args, count)
        self.bursts.append((count, seconds))

    @property
    def seconds(self) -> float:
        return sum(seconds for _, seconds in self.bursts)

    @property
    def rps(self) -> float:
        """All the bursts' requests over all their time."""
        return sum(count for count, _ in self.bursts) / self.seconds if self.bursts else 0.0

    @property
    def burst_rps(self) -> list[float]:
        return [round(count / seconds, 1) for count, seconds in self.bursts]


def measure_ceiling(base_urls: list[str], public_id: str, token: str, args, count: int) -> float:
    """Seconds ``count`` requests to the bare ceiling view take at ``--concurrency``."""
    session_local = threading.local()
    urls = cycle(base_urls)
    lock = threading.Lock()

    def hit(i: int) -> None:
        if not hasattr(session_local, "session"):
            session_local.session = requests.Session()
            session_local.session.headers["Authorization"] = f"Bearer {token}"
        with lock:
            base = next(urls)
        response = session_local.session.get(
            f"{base}/bench/ceiling/{public_id}",
            params={"userName": f"user{i:07d}@bench.example"},
            timeout=60,
        )
        response.raise_for_status()

    started = time.perf_counter()
    run_parallel("ceiling (bare view)", list(range(count)), args.concurrency, hit)
    return time.perf_counter() - started


def wal_segments(connection) -> int | None:
    """How many WAL segment files PostgreSQL holds, or ``None`` where it will not say (only a
    superuser or ``pg_monitor`` may list them).

    A cluster recycles the segments its checkpoints no longer need, so a machine's later runs
    write into files that exist. A fresh cluster has few: the backend that fills the last one
    creates and zero-fills the next (16 MB and an fsync: 20-40 ms on this machine's disk)
    while its request waits. A slow PATCH during which this count grew may be that, not the
    app."""
    from django.db import DatabaseError

    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_ls_waldir()")
            return cursor.fetchone()[0]
    except DatabaseError:
        return None


def checkpoint(connection) -> None:
    """``CHECKPOINT``, where this database user may (a superuser, or ``pg_checkpoint``).

    A cluster in service checkpoints every ``checkpoint_timeout`` and recycles the WAL segments
    each checkpoint leaves behind as the files the next writes go into. A cluster that
    has not checkpointed since it was created (a fresh machine's first run: the cycles and the
    big group's setup write a few hundred megabytes in minutes) has no such files, and a
    backend that fills the last segment creates and zero-fills the next one before its
    ``COMMIT`` returns: on a fresh cluster one 1,000-member PATCH's ``COMMIT`` took 64.7 ms
    where the others took about 1 ms, while PostgreSQL added one segment (README "Issue 21,
    seventeenth round"). The PATCHes are timed as a cluster in service would serve them."""
    from django.db import DatabaseError

    try:
        with connection.cursor() as cursor:
            cursor.execute("CHECKPOINT")
    except DatabaseError:
        pass


def big_group(client: Client, args) -> dict:
    """A 20,000-member group: PATCHes adding 1,000 members, and reads without members."""
    import django

    django.setup()
    from django.db import connection

    from organizations.models import Organization
    from scim.models import GroupMembership, ScimGroup, ScimUser

    organization = Organization.objects.get(public_id=args.public_id)
    size, additions, add_size = args.big_group, args.big_group_patches, 1000
    total = size + additions * add_size
    users = ScimUser.objects.bulk_create(
        [
            ScimUser(
                organization=organization,
                user_name=f"big{i:07d}@bench.example",
                display_name=f"Big {i}",
                attributes={},
            )
            for i in range(total)
        ],
        batch_size=5000,
    )
    big = ScimGroup.objects.create(organization=organization, display_name="Bench Big Group")
    small = ScimGroup.objects.create(organization=organization, display_name="Bench Small Group")
    GroupMembership.objects.bulk_create(
        [GroupMembership(group=big, user=u) for u in users[:size]], batch_size=10000
    )
    GroupMembership.objects.bulk_create([GroupMembership(group=small, user=u) for u in users[:10]])
    # The setup above wrote 40,000 users and 20,000 memberships in a few seconds, which no SCIM
    # client can; in production autovacuum would analyze them within a minute (where it is on:
    # not on every machine, this one's included). The PATCHes below are planned with the
    # statistics production would have. The member lookup no longer depends on them
    # (scim.services._users_with_ids); at 40,000 users the planner's guess without them
    # favoured the probe anyway (one run without this: p99 76 ms before that change, 82 after).
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE scim_scimuser, scim_groupmembership")
    checkpoint(connection)

    add_latencies, add_timings = [], []
    segments_before = wal_segments(connection)
    for n in range(additions):
        chunk = users[size + n * add_size : size + (n + 1) * add_size]
        started = time.perf_counter()
        response = client.call(
            "big_group_add_1000",
            "PATCH",
            f"/Groups/{big.scim_id}",
            expect=(204,),
            body={
                "schemas": [PATCH_OP],
                "Operations": [
                    {
                        "op": "Add",
                        "path": "members",
                        "value": [{"value": str(u.scim_id)} for u in chunk],
                    }
                ],
            },
        )
        add_latencies.append(time.perf_counter() - started)
        add_timings.append(server_timing(response))
    segments_after = wal_segments(connection)
    read = {}
    for label, group in (("big", big), ("small", small)):
        samples = []
        for _ in range(args.big_group_reads):
            started = time.perf_counter()
            client.call(
                f"group_read_{label}",
                "GET",
                f"/Groups/{group.scim_id}",
                expect=(200,),
                params={"excludedAttributes": "members"},
            )
            samples.append(time.perf_counter() - started)
        read[label] = statistics.median(samples)
    members_now = GroupMembership.objects.filter(group=big).count()
    return {
        "big_group_members": members_now,
        "big_group_expected": size + additions * add_size,
        "add_1000_p99_ms": round(percentile(add_latencies, 0.99) * 1000, 1),
        # Each PATCH in the order sent: with the default 20, the "p99" above is the slowest.
        "add_1000_ms": [round(seconds * 1000, 1) for seconds in add_latencies],
        # The same PATCHes as the server timed them: where a slow one spent its time.
        "add_1000_server_ms": [timing.get("app") for timing in add_timings],
        "add_1000_sql_ms": [timing.get("sql") for timing in add_timings],
        # Its COMMIT, the serving thread's CPU time (the driver's part of the SQL included) and
        # the collector's pauses: server time well beyond SQL, COMMIT and CPU together is time
        # the thread waited for a core or the interpreter lock.
        "add_1000_commit_ms": [timing.get("commit") for timing in add_timings],
        "add_1000_cpu_ms": [timing.get("cpu") for timing in add_timings],
        "add_1000_gc_ms": [timing.get("gc") for timing in add_timings],
        # WAL segment files PostgreSQL added while the PATCHes ran (None: not a superuser).
        "add_1000_wal_segments_added": (
            segments_after - segments_before
            if segments_before is not None and segments_after is not None
            else None
        ),
        "read_big_p50_ms": round(read["big"] * 1000, 2),
        "read_small_p50_ms": round(read["small"] * 1000, 2),
    }


# ------------------------------------------------------------------------------------ many tenants
def quiet_load(client: Client, args, stop: threading.Event, tag: str) -> None:
    """One organization's incremental cycle at Entra's pace: one request at a time, at most
    ``--quiet-rate`` per second, alternating a ``userName eq`` lookup and an attribute update
    of one of its ``--quiet-users`` users, until ``stop`` is set."""
    interval = 1 / args.quiet_rate
    next_at = time.monotonic()
    n = 0
    while not stop.is_set():
        i = n % args.quiet_users
        if n % 2 == 0:
            client.call(
                "quiet_lookup",
                "GET",
                "/Users",
                expect=(200,),
                params={"filter": f'userName eq "user{i:07d}@bench.example"'},
            )
        else:
            client.call(
                "quiet_update",
                "PATCH",
                f"/Users/{client.user_ids[i]}",
                expect=(200, 204),
                body={
                    "schemas": [PATCH_OP],
                    "Operations": [{"op": "Replace", "path": "displayName", "value": f"{tag} {n}"}],
                },
            )
        n += 1
        next_at += interval
        time.sleep(max(0.0, next_at - time.monotonic()))


@dataclass(frozen=True)
class QuietTenant:
    """What a quiet tenant's client needs, picklable for the quiet tenants' process."""

    tenant_urls: list[str]
    token: str
    user_ids: list[str]


def _quiet_process(tenants, args, tag, ready, stop, results) -> None:
    """The quiet tenants' clients, in a process of their own (see ``quiet_phase``)."""
    clients = []
    for tenant in tenants:
        client = Client(tenant.tenant_urls, tenant.token, Stats())
        client.user_ids = tenant.user_ids
        clients.append(client)
    threads = [
        threading.Thread(target=quiet_load, args=(client, args, stop, tag), daemon=True)
        for client in clients
    ]
    ready.set()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    results.put(
        (
            [v for c in clients for values in c.stats.latencies.values() for v in values],
            sum(n for c in clients for n in c.stats.failures.values()),
        )
    )


def quiet_phase(
    tenants: list[QuietTenant], args, tag: str, during=None
) -> tuple[list[float], int, object]:
    """Run every quiet tenant's load for ``--quiet-seconds`` (or while ``during()`` runs, if
    longer); their latencies in seconds, their failed requests, and what ``during`` returned.

    The quiet tenants' clients run in a process of their own, as Azure's jobs for other
    organizations run on other machines: in this process they would share the interpreter lock
    with the busy tenant's client threads, and their latencies would include the load
    generator's own waits.
    """
    context = multiprocessing.get_context("spawn")
    ready, stop, results = context.Event(), context.Event(), context.Queue()
    process = context.Process(
        target=_quiet_process,
        args=(tenants, argparse.Namespace(**vars(args)), tag, ready, stop, results),
        daemon=True,
    )
    process.start()
    if not ready.wait(60):
        raise SystemExit("the quiet tenants' process did not start")
    started = time.monotonic()
    result = during() if during is not None else None
    time.sleep(max(0.0, args.quiet_seconds - (time.monotonic() - started)))
    stop.set()
    latencies, failures = results.get(timeout=120)
    process.join(30)
    return latencies, failures, result


def many_tenants(args, env, base_urls: list[str], busy_token: str) -> tuple[dict, list[str]]:
    """``--tenants N``: tenant 1 runs its initial cycle at full speed (``--concurrency``
    threads) while tenants 2..N run incremental cycles at Entra's pace; the quiet tenants'
    p99 with and without the busy one."""
    quiet = []
    for n in range(2, args.tenants + 1):
        token, public_id = harness.add_tenant(env, f"bench{n}")
        tenant_urls = [f"{base}/scim/v2/{public_id}" for base in base_urls]
        setup = Client(tenant_urls, token, Stats())
        user_ids = [
            setup.call("quiet_setup", "POST", "/Users", body=user_body(i), expect=(201,)).json()[
                "id"
            ]
            for i in range(args.quiet_users)
        ]
        quiet.append(QuietTenant(tenant_urls, token, user_ids))
    alone, alone_failures, _ = quiet_phase(quiet, args, "Alone")
    busy_stats = Stats()
    busy = Client(
        [f"{base}/scim/v2/{args.public_id}" for base in base_urls], busy_token, busy_stats
    )
    started = time.perf_counter()
    shared, shared_failures, (user_ids, group_ids, membership) = quiet_phase(
        quiet, args, "Shared", during=lambda: initial_cycle(busy, args)
    )
    busy_seconds = time.perf_counter() - started
    refused = alone_failures + shared_failures + sum(busy_stats.failures.values())
    figures = {
        "tenants": args.tenants,
        "quiet_rate_per_tenant": args.quiet_rate,
        "quiet_tenant_p99_ms": round(percentile(shared, 0.99) * 1000, 1),
        "quiet_tenant_p50_ms": round(percentile(shared, 0.5) * 1000, 1),
        "quiet_tenant_p99_alone_ms": round(percentile(alone, 0.99) * 1000, 1),
        "quiet_tenant_p50_alone_ms": round(percentile(alone, 0.5) * 1000, 1),
        "quiet_requests": len(shared) + len(alone),
        "busy_tenant_rps": round(busy_stats.count() / busy_seconds, 1),
        "failed_requests": refused,
    }
    problems = verify(
        args, user_ids, group_ids, membership, {"updated": set(), "deactivated": set()}
    )
    if refused:
        problems.append(f"{refused} requests failed (429 or other)")
    return figures, problems


# ------------------------------------------------------------------------------------- verification
def verify(args, user_ids, group_ids, membership, incremental) -> list[str]:
    """Compare the database with what the requests should have produced; return the differences."""
    import django

    django.setup()
    from scim.models import GroupMembership, ScimGroup, ScimUser

    problems = []
    users = {str(u.scim_id): u for u in ScimUser.objects.filter(scim_id__in=user_ids)}
    if len(users) != args.users:
        problems.append(f"{len(users)} users stored, {args.users} expected")
    for i, scim_id in enumerate(user_ids):
        user = users.get(scim_id)
        if user is None:
            continue
        should_be_active = i not in incremental["deactivated"]
        if user.active != should_be_active:
            problems.append(f"user {i} active={user.active}, expected {should_be_active}")
        expected_name = f"Renamed User {i}" if i in incremental["updated"] else f"Bench User {i}"
        if user.display_name != expected_name:
            problems.append(f"user {i} displayName={user.display_name!r}")
    stored_groups = ScimGroup.objects.filter(scim_id__in=group_ids).count()
    if stored_groups != args.groups:
        problems.append(f"{stored_groups} groups stored, {args.groups} expected")
    actual = defaultdict(set)
    id_to_index = {scim_id: i for i, scim_id in enumerate(user_ids)}
    group_index = {scim_id: g for g, scim_id in enumerate(group_ids)}
    for group_id, user_id in (
        GroupMembership.objects.filter(group__scim_id__in=group_ids)
        .values_list("group__scim_id", "user__scim_id")
        .iterator(chunk_size=10000)
    ):
        actual[group_index[str(group_id)]].add(id_to_index.get(str(user_id), -1))
    for g in range(args.groups):
        if actual[g] != membership[g]:
            problems.append(f"group {g}: {len(actual[g])} members, {len(membership[g])} expected")
    return problems[:20]


# -------------------------------------------------------------------------------------------- main
def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--groups", type=int, default=100)
    parser.add_argument("--memberships", type=int, default=50_000)
    parser.add_argument(
        "--members-per-patch",
        type=int,
        default=100,
        help="members per Add operation in the initial cycle (default 100)",
    )
    parser.add_argument("--removals-per-group", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=8, help="client threads (default 8)")
    parser.add_argument("--servers", type=int, default=1, help="gunicorn instances (default 1)")
    parser.add_argument(
        "--workers",
        type=int,
        default=0,
        help="gunicorn workers per instance (default: the production config's 2 x CPUs + 1)",
    )
    parser.add_argument("--threads", type=int, default=0, help="threads per gunicorn worker")
    parser.add_argument(
        "--pgbouncer",
        action="store_true",
        help="the servers reach PostgreSQL through pgbouncer in transaction pooling "
        "(DB_TRANSACTION_POOLING=true)",
    )
    parser.add_argument(
        "--ceiling-requests",
        type=int,
        default=3000,
        help="requests to the bare ceiling view, over all its bursts (default 3000)",
    )
    parser.add_argument(
        "--ceiling-samples",
        type=int,
        default=5,
        help="bursts the ceiling is measured in, spread over the cycles (default 5)",
    )
    parser.add_argument(
        "--big-group",
        type=int,
        default=20_000,
        help="members of the large group (0 skips that phase)",
    )
    parser.add_argument("--big-group-patches", type=int, default=20)
    parser.add_argument("--big-group-reads", type=int, default=50)
    parser.add_argument(
        "--tenants",
        type=int,
        default=1,
        help="N > 1: tenant 1's initial cycle at full speed while N-1 others run incremental "
        "cycles at Entra's pace; prints the quiet tenants' p99 with and without it",
    )
    parser.add_argument("--quiet-rate", type=float, default=10, help="requests/s per quiet tenant")
    parser.add_argument("--quiet-users", type=int, default=20, help="users per quiet tenant")
    parser.add_argument(
        "--quiet-seconds", type=float, default=20, help="quiet load alone, and at least together"
    )
    parser.add_argument("--database-url", default=harness.DEFAULT_DATABASE_URL)
    parser.add_argument("--url", help="an already running server (skips starting one)")
    parser.add_argument("--tenant-url", help="with --url: the organization's tenant URL")
    parser.add_argument("--token", help="with --url: the organization's provisioning token")
    return parser.parse_args()


def stop(servers, pgbouncer) -> None:
    if servers is not None:
        servers.stop()
        shutil.rmtree(servers.log_dir, ignore_errors=True)
    if pgbouncer is not None:
        pgbouncer.stop()
        shutil.rmtree(pgbouncer.directory, ignore_errors=True)


def main() -> None:
    args = parse_args()
    env = harness.bench_environment(args.database_url)
    servers = pgbouncer = None
    if args.url:
        if not (args.tenant_url and args.token):
            raise SystemExit("--url needs --tenant-url and --token")
        base_urls, token = [args.url.rstrip("/")], args.token
        args.public_id = args.tenant_url.rstrip("/").rsplit("/", 1)[1]
        args.big_group = 0
    else:
        harness.recreate_database(args.database_url)
        token, args.public_id = harness.provision_tenant(env)
        server_env = env
        if args.pgbouncer:
            pgbouncer = harness.start_pgbouncer(args.database_url)
            server_env = {
                **env,
                "DATABASE_URL": pgbouncer.database_url,
                "DB_TRANSACTION_POOLING": "true",
            }
        servers = harness.start_servers(
            server_env, args.servers, workers=args.workers, threads=args.threads
        )
        base_urls = servers.urls
    # This process reads the same database to set up the big group and to verify the result.
    os.environ.update(env)
    tenant_urls = [f"{base}/scim/v2/{args.public_id}" for base in base_urls]
    stats = Stats()
    client = Client(tenant_urls, token, stats)
    if args.tenants > 1:
        try:
            figures, problems = many_tenants(args, env, base_urls, token)
        finally:
            stop(servers, pgbouncer)
        print(
            f"\n{args.tenants} tenants: quiet tenants' p99 {figures['quiet_tenant_p99_ms']} ms "
            f"beside a full-speed initial cycle ({figures['busy_tenant_rps']} req/s), "
            f"{figures['quiet_tenant_p99_alone_ms']} ms alone"
        )
        print("final state: " + ("exactly as expected" if not problems else "; ".join(problems)))
        print(json.dumps({**figures, "servers": args.servers, "state_ok": not problems}))
        sys.exit(1 if problems else 0)
    try:
        ceiling = Ceiling(base_urls, args.public_id, token, args)
        started = time.perf_counter()
        user_ids, group_ids, membership = initial_cycle(client, args, ceiling.sample)
        initial_seconds = time.perf_counter() - started - ceiling.seconds
        incremental = incremental_cycle(client, args, user_ids, group_ids, membership)
        cycles_seconds = time.perf_counter() - started - ceiling.seconds
        ceiling.sample()
        mixed_requests = stats.count()
        mixed_rps = mixed_requests / cycles_seconds
        ceiling_rps = ceiling.rps
        big = big_group(client, args) if args.big_group else {}
        problems = verify(args, user_ids, group_ids, membership, incremental)
    finally:
        stop(servers, pgbouncer)
    print(
        f"\nAzure-shaped load: {args.users} users, {args.groups} groups, {args.memberships} "
        f"memberships, {args.concurrency} client threads, {args.servers} server(s)"
    )
    print(
        f"{'operation':<22}{'count':>8}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'SQL/req':>9}{'typical':>8}{'fail':>6}"
    )
    per_operation = {}
    for operation, values in sorted(stats.latencies.items()):
        queries = stats.queries.get(operation) or []
        row = {
            "count": len(values),
            "p50_ms": round(percentile(values, 0.5) * 1000, 2),
            "p99_ms": round(percentile(values, 0.99) * 1000, 2),
            "sql_per_request": max(queries) if queries else None,
            # The most is the first request of a sync cycle (it opens the cycle); this is typical.
            "sql_median": statistics.median_low(queries) if queries else None,
            "failures": stats.failures.get(operation, 0),
        }
        per_operation[operation] = row
        rate = len(values) / cycles_seconds
        print(
            f"{operation:<22}{row['count']:>8}{rate:>9.0f}{row['p50_ms']:>9.1f}"
            f"{row['p99_ms']:>9.1f}{str(row['sql_per_request'] or '-'):>9}"
            f"{str(row['sql_median'] or '-'):>8}{row['failures']:>6}"
        )
    ratio = mixed_rps / ceiling_rps if ceiling_rps else 0
    print(
        f"\ninitial cycle {initial_seconds:.1f} s, both cycles {cycles_seconds:.1f} s, "
        f"{mixed_requests} requests"
    )
    print(
        f"mixed SCIM throughput {mixed_rps:.0f} req/s; ceiling (bare view) {ceiling_rps:.0f} "
        f"req/s (bursts: {', '.join(f'{rps:.0f}' for rps in ceiling.burst_rps)}); "
        f"ratio {ratio:.2f}"
    )
    if big:
        print(
            f"PATCH adding 1,000 members to a {args.big_group:,}-member group: p99 "
            f"{big['add_1000_p99_ms']} ms; GET excludedAttributes=members: "
            f"{big['read_big_p50_ms']} ms at {big['big_group_members']:,} members vs "
            f"{big['read_small_p50_ms']} ms at 10"
        )
        slowest = max(range(len(big["add_1000_ms"])), key=big["add_1000_ms"].__getitem__)
        print(
            f"slowest of those PATCHes: {big['add_1000_ms'][slowest]} ms, of which the server "
            f"{big['add_1000_server_ms'][slowest]} ms: SQL {big['add_1000_sql_ms'][slowest]} ms, "
            f"COMMIT {big['add_1000_commit_ms'][slowest]} ms, "
            f"the thread's CPU {big['add_1000_cpu_ms'][slowest]} ms, "
            f"GC {big['add_1000_gc_ms'][slowest]} ms"
        )
        if big["add_1000_wal_segments_added"]:
            print(
                f"PostgreSQL added {big['add_1000_wal_segments_added']} WAL segment files while "
                "those PATCHes ran (a fresh cluster: later runs recycle them)"
            )
        if big["big_group_members"] != big["big_group_expected"]:
            problems.append(
                f"big group has {big['big_group_members']} members, "
                f"{big['big_group_expected']} expected"
            )
    print("final state: " + ("exactly as expected" if not problems else "; ".join(problems)))
    print(
        json.dumps(
            {
                "users": args.users,
                "groups": args.groups,
                "memberships": args.memberships,
                "servers": args.servers,
                "pgbouncer": args.pgbouncer,
                "concurrency": args.concurrency,
                "mixed_rps": round(mixed_rps, 1),
                "ceiling_rps": round(ceiling_rps, 1),
                "ceiling_burst_rps": ceiling.burst_rps,
                "ratio": round(ratio, 3),
                "total_seconds": round(cycles_seconds, 1),
                "operations": per_operation,
                **big,
                "state_ok": not problems,
            }
        )
    )
    if problems:
        sys.exit(1)


if __name__ == "__main__":
    main()
