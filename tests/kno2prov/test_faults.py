"""Faults on PostgreSQL: the database going away, and a gunicorn worker killed mid-request.

Each test runs its own gunicorn on the test database, so it can break things freely.
"""

import os
import signal
import threading
import time

import psycopg
import pytest
import requests
from django.db import connection

from scim.models import GroupMembership, ScimGroup, ScimUser
from tests import factories
from tests.conftest import _database_url, launch_gunicorn
from tests.schemas import ERROR, PATCH_OP, SCIM_JSON

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


def _terminate_server_connections() -> int:
    """``pg_terminate_backend`` the server's sessions: all on the test database but ours."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        ours = cursor.fetchone()[0]
    with psycopg.connect(_database_url(connection.settings_dict), autocommit=True) as admin:
        rows = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid NOT IN (pg_backend_pid(), %s) "
            "AND backend_type = 'client backend'",
            [ours],
        ).fetchall()
    return len(rows)


def _wait_for_open_write_transaction(timeout: float = 10) -> None:
    """Block until a server session is inside a transaction: the PATCH is half done."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(_database_url(connection.settings_dict), autocommit=True) as watcher:
        while time.monotonic() < deadline:
            busy = watcher.execute(
                "SELECT 1 FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND (state = 'idle in transaction' "
                "OR query ILIKE 'INSERT INTO \"scim_groupmembership\"%%')"
            ).fetchone()
            if busy:
                return
            time.sleep(0.002)
    raise AssertionError("the PATCH never opened its transaction")


def _headers(plaintext: str) -> dict:
    return {"Authorization": f"Bearer {plaintext}", "Content-Type": SCIM_JSON}


@pytest.fixture
def tenant():
    organization = factories.make_organization(slug="faults")
    _, plaintext = factories.make_token(organization)
    return organization, plaintext


def test_unreachable_database_answers_503_scim_error_with_retry_after(tmp_path, tenant):
    organization, plaintext = tenant
    server = launch_gunicorn(tmp_path, DATABASE_URL="postgres://postgres@127.0.0.1:1/nowhere")
    try:
        response = requests.get(
            f"{server.url}/scim/v2/{organization.public_id}/Users",
            headers=_headers(plaintext),
            timeout=30,
        )
        ready = requests.get(f"{server.url}/readyz", timeout=30)
    finally:
        server.stop()
    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) > 0
    assert response.headers["Content-Type"].startswith(SCIM_JSON)
    assert response.json()["status"] == "503"
    assert response.json()["schemas"] == [ERROR]
    assert ready.status_code == 503


def test_service_recovers_by_itself_after_its_connections_are_terminated(tmp_path, tenant):
    organization, plaintext = tenant
    server = launch_gunicorn(tmp_path, DB_CONN_MAX_AGE="600")
    url = f"{server.url}/scim/v2/{organization.public_id}/Users"
    try:
        before = [
            requests.get(url, headers=_headers(plaintext), timeout=30).status_code for _ in range(4)
        ]
        assert _terminate_server_connections() >= 1
        after = [
            requests.get(url, headers=_headers(plaintext), timeout=30).status_code for _ in range(4)
        ]
    finally:
        server.stop()
    assert before == [200] * 4
    assert after == [200] * 4


def _big_member_patch(organization, members: int) -> tuple[ScimGroup, dict]:
    users = ScimUser.objects.bulk_create(
        [ScimUser(organization=organization, user_name=f"m{n}@faults.test") for n in range(members)]
    )
    group = ScimGroup.objects.create(organization=organization, display_name="Night shift")
    body = {
        "schemas": [PATCH_OP],
        "Operations": [
            {"op": "Add", "path": "members", "value": [{"value": str(u.scim_id)} for u in users]},
            {"op": "Replace", "path": "displayName", "value": "Night shift (all)"},
        ],
    }
    return group, body


def _interrupt_patch(server, organization, plaintext, group, body, interrupt) -> int | None:
    """Send the PATCH and ``interrupt`` while it runs; the status, or None if no answer."""
    outcome: dict = {}

    def send():
        try:
            outcome["status"] = requests.patch(
                f"{server.url}/scim/v2/{organization.public_id}/Groups/{group.scim_id}",
                json=body,
                headers=_headers(plaintext),
                timeout=60,
            ).status_code
        except requests.ConnectionError:
            outcome["status"] = None

    sender = threading.Thread(target=send)
    sender.start()
    _wait_for_open_write_transaction()
    interrupt()
    sender.join(60)
    return outcome.get("status")


def _all_or_nothing(group: ScimGroup, members: int) -> None:
    group.refresh_from_db()
    count = GroupMembership.objects.filter(group=group).count()
    renamed = group.display_name == "Night shift (all)"
    assert (count, renamed) in {(0, False), (members, True)}


def test_database_lost_mid_patch_leaves_no_half_applied_group_change(tmp_path, tenant):
    organization, plaintext = tenant
    group, body = _big_member_patch(organization, 6000)
    server = launch_gunicorn(tmp_path)
    try:
        status = _interrupt_patch(
            server, organization, plaintext, group, body, _terminate_server_connections
        )
        recovered = requests.get(
            f"{server.url}/scim/v2/{organization.public_id}/Groups",
            headers=_headers(plaintext),
            timeout=30,
        ).status_code
    finally:
        server.stop()
    assert status == 503
    _all_or_nothing(group, 6000)
    assert recovered == 200


def test_worker_killed_mid_patch_loses_no_committed_data_and_applies_nothing_half(tmp_path, tenant):
    organization, plaintext = tenant
    committed = factories.make_organization(slug="committed-before")
    group, body = _big_member_patch(organization, 6000)
    server = launch_gunicorn(tmp_path)

    def kill_workers():
        for pid in _worker_pids(server.process.pid):
            os.kill(pid, signal.SIGKILL)

    try:
        status = _interrupt_patch(server, organization, plaintext, group, body, kill_workers)
        recovered = None
        for _ in range(50):
            try:
                recovered = requests.get(
                    f"{server.url}/scim/v2/{organization.public_id}/Groups",
                    headers=_headers(plaintext),
                    timeout=30,
                ).status_code
                break
            except requests.ConnectionError:
                time.sleep(0.2)
    finally:
        server.stop()
    assert status is None
    _all_or_nothing(group, 6000)
    assert type(committed).objects.filter(pk=committed.pk).exists()
    assert recovered == 200


def _worker_pids(master_pid: int) -> list[int]:
    children = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == master_pid:
                children.append(int(entry))
    return children
