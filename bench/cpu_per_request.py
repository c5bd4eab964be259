"""CPU per SCIM request, by kind of request: the app's Python and PostgreSQL's, beside the ceiling.

Usage::

    .venv/bin/python bench/cpu_per_request.py [--users 2000] [--requests 300] [--rounds 3]

``azure_load.py``'s ratio (mixed SCIM throughput over the bare ceiling view's) is CPU per
request on a saturated machine, but as throughput over real HTTP it drifts by a fifth between
runs of the same code and cannot say which kind of request, or which process, the time went to.
This drives the real endpoints in this process through Django's WSGI handler, one request at a
time (no HTTP server, no load generator), with the sync history's writer thread started as
gunicorn starts it, and counts CPU rather than wall time:

* **app**: this process, all its threads (``time.process_time``);
* **PostgreSQL**: every ``postgres`` process on this machine (``/proc``, so the database must be
  local and this must be Linux; otherwise only the app is counted).

Kinds: the bare ceiling view (the same token check and one indexed query), a ``userName eq``
lookup that finds nobody and a user create (Azure's initial cycle, one each per user), a PATCH
of two attributes, and a PATCH adding 100 members to a group. Each kind runs ``--requests``
requests per round, the kinds interleaved, ``--rounds`` rounds; the median round is printed.
The "beyond the ceiling" column is what a request costs over a ceiling request: the SCIM work
(parsing, the query or the write, the directory event, history, rate limits). The last line is
one JSON object.

It first creates ``--users`` users (not counted) so that lookups and writes meet indexes of a
realistic size, and ends by checking the database holds exactly what the requests wrote. Its
database (``--database-url``, else ``BENCH_DATABASE_URL``, else
``postgres://postgres@127.0.0.1:5432/kno2prov_cpu_bench``) is dropped and created anew, and
dropped at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import io
import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlencode

import harness
from azure_load import ENTERPRISE_USER, PATCH_OP, user_body

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/kno2prov_cpu_bench"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
MEMBERS_PER_ADD = 100
KINDS = ("ceiling", "user_lookup", "user_create", "user_update", "group_add_members")


def postgresql_cpu_seconds() -> float | None:
    """CPU seconds every ``postgres`` process on this machine has used, or ``None`` without
    ``/proc``. Counting them all takes in the history writer's connection, the WAL writer and
    autovacuum, which the requests cause as much as their own backend's work. Read from
    ``schedstat`` (nanoseconds): ``stat``'s clock ticks are too coarse for a fraction of a
    millisecond a request."""
    if not os.path.isdir("/proc/self"):
        return None
    nanoseconds = 0
    for process in glob.glob("/proc/[0-9]*"):
        try:
            with open(f"{process}/comm") as comm:
                if comm.read().strip() != "postgres":
                    continue
            with open(f"{process}/schedstat") as schedstat:
                nanoseconds += int(schedstat.read().split()[0])
        except (OSError, ValueError, IndexError):
            continue  # it ended meanwhile
    return nanoseconds / 1e9


@dataclass
class Measured:
    app_ms: float
    postgresql_ms: float | None

    @property
    def total_ms(self) -> float:
        return self.app_ms + (self.postgresql_ms or 0.0)


class Tenant:
    """One organization's SCIM endpoints, called in process through the WSGI handler."""

    def __init__(self, application: Callable, public_id: str, token: str) -> None:
        self.application = application
        self.public_id = public_id
        self.token = token
        self.base = f"/scim/v2/{public_id}"

    def call(self, method: str, path: str, expect: int, *, query: str = "", body=None) -> dict:
        data = json.dumps(body).encode() if body is not None else b""
        environ = {
            "REQUEST_METHOD": method,
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "SERVER_NAME": "localhost",
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
            "HTTP_HOST": "localhost",
            "HTTP_AUTHORIZATION": f"Bearer {self.token}",
            "CONTENT_TYPE": "application/scim+json",
            "CONTENT_LENGTH": str(len(data)),
            "wsgi.input": io.BytesIO(data),
            "wsgi.errors": sys.stderr,
            "wsgi.url_scheme": "http",
            "wsgi.version": (1, 0),
            "wsgi.multithread": False,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
        }
        answered: list[str] = []
        content = b"".join(
            self.application(
                environ, lambda status, headers, exc_info=None: answered.append(status)
            )
        )
        status = int(answered[0].split()[0])
        if status != expect:
            raise SystemExit(f"{method} {path}?{query} answered {status}: {content[:300]!r}")
        return json.loads(content) if content else {}

    def create_user(self, number: int) -> str:
        return self.call("POST", f"{self.base}/Users", 201, body=user_body(number))["id"]

    def create_group(self, name: str) -> str:
        body = {"schemas": [GROUP_SCHEMA], "displayName": name, "members": []}
        return self.call("POST", f"{self.base}/Groups", 201, body=body)["id"]


class Workload:
    """What each kind's n-th request is; every request names users or groups of its own."""

    def __init__(self, tenant: Tenant, seeded: list[str]) -> None:
        self.tenant = tenant
        self.seeded = seeded
        self.members = seeded[:MEMBERS_PER_ADD]
        self.next_new_user = len(seeded)
        self.updated: set[str] = set()
        self.created = 0
        self.groups: list[str] = []  # empty groups made for adds not yet timed
        self.groups_made = 0

    def prepare(self, kind: str, count: int) -> None:
        """What ``count`` requests of ``kind`` need before they are timed: empty groups."""
        if kind == "group_add_members":
            for _ in range(count):
                self.groups.append(self.tenant.create_group(f"CPU Group {self.groups_made}"))
                self.groups_made += 1

    def run(self, kind: str, count: int) -> None:
        tenant = self.tenant
        for _ in range(count):
            if kind == "ceiling":
                name = f"absent{self.next_new_user:07d}@bench.example"
                tenant.call(
                    "GET",
                    f"/bench/ceiling/{tenant.public_id}",
                    200,
                    query=urlencode({"userName": name}),
                )
            elif kind == "user_lookup":
                name = f"absent{self.next_new_user:07d}@bench.example"
                tenant.call(
                    "GET",
                    f"{tenant.base}/Users",
                    200,
                    query="filter=" + quote(f'userName eq "{name}"'),
                )
            elif kind == "user_create":
                tenant.create_user(self.next_new_user)
                self.created += 1
            elif kind == "user_update":
                user_id = self.seeded[len(self.updated) % len(self.seeded)]
                self.updated.add(user_id)
                tenant.call(
                    "PATCH",
                    f"{tenant.base}/Users/{user_id}",
                    200,
                    body={
                        "schemas": [PATCH_OP],
                        "Operations": [
                            {"op": "Replace", "path": "displayName", "value": "Renamed"},
                            {
                                "op": "Replace",
                                "path": f"{ENTERPRISE_USER}:department",
                                "value": "Cardiology",
                            },
                        ],
                    },
                )
            elif kind == "group_add_members":
                tenant.call(
                    "PATCH",
                    f"{tenant.base}/Groups/{self.groups.pop()}",
                    204,
                    body={
                        "schemas": [PATCH_OP],
                        "Operations": [
                            {
                                "op": "Add",
                                "path": "members",
                                "value": [{"value": member} for member in self.members],
                            }
                        ],
                    },
                )
            self.next_new_user += 1


def measure(workload: Workload, kind: str, count: int, settle_seconds: float) -> Measured:
    """CPU per request of ``count`` requests of ``kind``, the history they queued written."""
    workload.prepare(kind, count)
    app_before, postgresql_before = time.process_time(), postgresql_cpu_seconds()
    workload.run(kind, count)
    # The writer thread writes what the requests queued within its interval; wait it out so
    # every kind pays for its own history.
    time.sleep(settle_seconds)
    app_after, postgresql_after = time.process_time(), postgresql_cpu_seconds()
    postgresql = (
        (postgresql_after - postgresql_before) * 1000 / count
        if postgresql_before is not None and postgresql_after is not None
        else None
    )
    return Measured((app_after - app_before) * 1000 / count, postgresql)


def median_of(rounds: list[Measured]) -> Measured:
    """The round whose total is the median (not a mix of two rounds' halves)."""
    return sorted(rounds, key=lambda measured: measured.total_ms)[len(rounds) // 2]


def check_state(workload: Workload, organization_id: int, users_before: int) -> list[str]:
    """What differs between the database and what the requests wrote."""
    from scim.models import GroupMembership, ScimGroup, ScimUser

    problems = []
    users = ScimUser.objects.filter(organization_id=organization_id)
    count = users.count()
    if count != users_before + workload.created:
        problems.append(f"{count} users, expected {users_before + workload.created}")
    renamed = users.filter(scim_id__in=workload.updated, display_name="Renamed").count()
    if renamed != len(workload.updated):
        problems.append(f"{renamed} of {len(workload.updated)} updated users renamed")
    groups = ScimGroup.objects.filter(organization_id=organization_id).count()
    memberships = GroupMembership.objects.filter(group__organization_id=organization_id).count()
    if memberships != (groups - len(workload.groups)) * MEMBERS_PER_ADD:
        problems.append(f"{memberships} memberships in {groups} groups")
    return problems


@contextlib.contextmanager
def in_process_tenant(database_url: str) -> Iterator[tuple[Tenant, object, int]]:
    """A fresh database with one provisioned tenant, Django set up in this process, and the
    sync history's writer thread started as gunicorn starts it: yields the tenant's endpoints,
    the writer (``None`` if history is written at once) and the organization's primary key.
    Afterwards the writer writes what it still holds and stops, and the database is dropped."""
    env = harness.bench_environment(database_url)
    harness.recreate_database(database_url)
    django_started = False
    try:
        token, public_id = harness.provision_tenant(env)
        os.environ.update(env)
        os.chdir(ROOT)
        sys.path.insert(0, str(ROOT))
        import django

        django.setup()
        django_started = True
        from django.core.wsgi import get_wsgi_application

        from organizations.models import Organization
        from portal import writebehind

        writer = writebehind.start()
        organization_id = Organization.objects.get(public_id=public_id).pk
        yield Tenant(get_wsgi_application(), public_id, token), writer, organization_id
    finally:
        if django_started:
            from portal import writebehind

            writebehind.stop()
            from django.db import connections

            connections.close_all()
        harness.drop_database(database_url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--users", type=int, default=2000, help="users created first (default 2000)"
    )
    parser.add_argument("--requests", type=int, default=300, help="requests per kind and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)
    )
    args = parser.parse_args()
    if args.users < MEMBERS_PER_ADD:
        parser.error(f"--users must be at least {MEMBERS_PER_ADD} (one group add's members)")

    with in_process_tenant(args.database_url) as (tenant, writer, organization_id):
        settle = (writer.interval_seconds if writer else 0) + 0.2
        seeded = [tenant.create_user(n) for n in range(args.users)]
        workload = Workload(tenant, seeded)
        for kind in KINDS:  # warm every path once, uncounted
            measure(workload, kind, 5, settle)

        rounds: dict[str, list[Measured]] = {kind: [] for kind in KINDS}
        for _ in range(args.rounds):
            for kind in KINDS:
                rounds[kind].append(measure(workload, kind, args.requests, settle))
        problems = check_state(workload, organization_id, args.users)

    result = {kind: median_of(measured) for kind, measured in rounds.items()}
    ceiling = result["ceiling"]
    beyond = {kind: measured.total_ms - ceiling.total_ms for kind, measured in result.items()}
    initial_cycle = (result["user_lookup"].total_ms + result["user_create"].total_ms) / 2
    ratio = ceiling.total_ms / initial_cycle
    print(
        f"CPU per request, median of {args.rounds} rounds of {args.requests} ({args.users} users)"
    )
    print(
        f"{'kind':20s} {'app ms':>8s} {'PostgreSQL ms':>14s} {'total ms':>9s} "
        f"{'beyond ceiling':>15s}"
    )
    for kind, measured in result.items():
        postgresql = "n/a" if measured.postgresql_ms is None else f"{measured.postgresql_ms:.2f}"
        print(
            f"{kind:20s} {measured.app_ms:8.2f} {postgresql:>14s} {measured.total_ms:9.2f} "
            f"{beyond[kind]:15.2f}"
        )
    print(
        "Azure's initial cycle (a lookup and a create per user): "
        f"{initial_cycle:.2f} ms a request, "
        f"{ratio:.2f} of the ceiling's rate in process "
        "(azure_load.py's ratio adds HTTP and its load generator to both sides)"
    )
    print("final state: " + ("exactly as expected" if not problems else "; ".join(problems)))
    print(
        json.dumps(
            {
                "users": args.users,
                "requests": args.requests,
                "rounds": args.rounds,
                "kinds": {
                    kind: {
                        "app_ms": round(measured.app_ms, 3),
                        "postgresql_ms": None
                        if measured.postgresql_ms is None
                        else round(measured.postgresql_ms, 3),
                        "total_ms": round(measured.total_ms, 3),
                        "beyond_ceiling_ms": round(beyond[kind], 3),
                    }
                    for kind, measured in result.items()
                },
                "initial_cycle_in_process_ratio": round(ratio, 3),
                "state_ok": not problems,
            }
        )
    )
    if problems:
        sys.exit(1)


if __name__ == "__main__":
    main()
