"""End to end: SCIM requests over gunicorn, the real worker process, a real receiver.

The worker is ``manage.py webhook_worker`` (django-tasks' ``db_worker``) in its own process on
the test database; the receiver verifies every signature with the ``standardwebhooks`` package.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection
from django_tasks_db.models import DBTaskResult

from directory import services
from directory.models import DeliveryStatus, WebhookDelivery
from tests.conftest import TEST_ENV, _database_url
from tests.scim_client import ScimClient

from .receiver import WEBHOOK_SECRET_KEY, Receiver

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parents[2]
WORKER_ENV = {
    "WEBHOOK_RETRY_SECONDS": "1",
    "WEBHOOK_TIMEOUT_SECONDS": "2",
    "WEBHOOK_LEASE_SECONDS": "4",
    "LOG_FORMAT": "plain",
    "WEBHOOK_SECRET_KEYS": WEBHOOK_SECRET_KEY,
}


def _env(**overrides: str) -> dict:
    return {
        **os.environ,
        **TEST_ENV,
        **WORKER_ENV,
        "DATABASE_URL": _database_url(connection.settings_dict),
        **overrides,
    }


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=_env(**env),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )


class Worker:
    def __init__(self, log_path: Path, **env: str) -> None:
        self.log_path = log_path
        with log_path.open("a") as log:
            self.process = subprocess.Popen(
                [sys.executable, "manage.py", "webhook_worker", "--interval", "0.1"],
                cwd=ROOT,
                env=_env(**env),
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()


@pytest.fixture
def workers(tmp_path):
    started: list[Worker] = []

    def start(**env: str) -> Worker:
        worker = Worker(tmp_path / f"worker{len(started)}.log", **env)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


@pytest.fixture
def receiver():
    running = Receiver().start()
    yield running
    running.stop()


@pytest.fixture
def scim(gunicorn_server, organization, token) -> ScimClient:
    client = ScimClient(f"{gunicorn_server.url}/scim/v2/{organization.public_id}", token[1])
    yield client
    client.session.close()


@pytest.fixture
def endpoint(organization, receiver):
    row, receiver.secret = services.add_endpoint(organization, url=receiver.url, actor=None)
    return row


def _wait_until(condition, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.05)


def _worker_idle() -> bool:
    """The worker has observably finished everything it was given: no delivery is pending and
    no task is running or due (a wake-up booked for later has nothing left to send). Deliveries
    are marked after the receiver answered, and the receiver records a message before it
    answers, so anything the worker sent has arrived by then."""
    if WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING).exists():
        return False
    return not (DBTaskResult.objects.ready() | DBTaskResult.objects.running()).exists()


def _create_users(scim: ScimClient, count: int, prefix: str = "user") -> None:
    for n in range(count):
        response = scim.post("/Users", {"userName": f"{prefix}{n}@riverside.example"})
        assert response.status_code == 201, response.text


def test_a_scim_create_over_gunicorn_reaches_the_receiver_signed(scim, endpoint, receiver, workers):
    workers()

    response = scim.post("/Users", {"userName": "alice@riverside.example", "externalId": "a1"})

    payload = receiver.wait_for(1)[0]
    assert payload["type"] == "user.created"
    assert payload["resource"] == {
        "type": "User",
        "id": response.json()["id"],
        "externalId": "a1",
        "userName": "alice@riverside.example",
    }
    assert receiver.rejected == []


def test_a_receiver_answering_500_then_200_gets_every_event_in_order(
    scim, endpoint, receiver, workers
):
    receiver.script.extend([500, 500])
    workers()

    _create_users(scim, 3)

    receiver.wait_for(3)
    assert receiver.positions() == [1, 2, 3]


def test_a_receiver_down_then_back_gets_everything_in_order(scim, endpoint, receiver, workers):
    receiver.stop()
    workers()
    _create_users(scim, 5)
    _wait_until(
        lambda: WebhookDelivery.objects.filter(position=1, attempts__gte=2).exists(),
        "the first event was refused twice and its retry scheduled",
    )

    back = Receiver(secret=receiver.secret, port=receiver.port).start()
    try:
        back.wait_for(5)
        assert back.positions() == [1, 2, 3, 4, 5]
    finally:
        back.stop()


def test_a_second_organizations_events_never_reach_the_first_ones_endpoint(
    scim, gunicorn_server, other_organization, endpoint, receiver, workers
):
    from tests import factories

    _, other_token = factories.make_token(other_organization)
    other = ScimClient(f"{gunicorn_server.url}/scim/v2/{other_organization.public_id}", other_token)
    workers()

    other.post("/Users", {"userName": "x@lakeside.example"})
    scim.post("/Users", {"userName": "alice@riverside.example"})

    receiver.wait_for(1)
    _wait_until(_worker_idle, "the worker sent everything it was given")
    assert [p["organization"]["slug"] for p in receiver.received] == ["riverside"]
    other.session.close()


def test_a_killed_worker_loses_nothing_and_the_next_one_resumes(scim, endpoint, receiver, workers):
    receiver.hang_seconds = 1
    receiver.script.append("hang")
    first = workers()
    _create_users(scim, 3)
    deadline = time.monotonic() + 20
    while receiver.in_flight == 0 and time.monotonic() < deadline:
        time.sleep(0.02)

    first.kill()  # in the middle of sending position 1
    workers()

    deadline = time.monotonic() + 30
    while set(receiver.positions()) != {1, 2, 3} and time.monotonic() < deadline:
        time.sleep(0.1)
    assert sorted(set(receiver.positions())) == [1, 2, 3]
    # At-least-once: position 1 may arrive twice, but never out of order after a later one.
    firsts = [receiver.positions().index(p) for p in (1, 2, 3)]
    assert firsts == sorted(firsts)
    # The receiver records a message before answering it: give the worker time to mark it.
    pending = WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING)
    deadline = time.monotonic() + 10
    while pending.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not pending.exists()


def test_two_workers_never_send_one_stream_at_once(scim, endpoint, receiver, workers):
    receiver.hold_seconds = 0.05  # two senders at once would overlap within it
    # A lease no stall of a loaded machine outlasts: the stream may change hands only if one
    # worker ignores the other's lease, which is what this test is for (4 s is for the
    # killed-worker test).
    workers(WEBHOOK_LEASE_SECONDS="120")
    workers(WEBHOOK_LEASE_SECONDS="120")

    _create_users(scim, 20)

    receiver.wait_for(20)
    _wait_until(_worker_idle, "the worker sent everything it was given")
    assert receiver.positions() == list(range(1, 21))
    assert receiver.max_in_flight == 1


def test_deliver_webhooks_until_idle_waits_out_a_retry_and_exits(organization, endpoint, receiver):
    from tests.scim.conftest import make_user

    make_user(organization, "alice@riverside.example")
    make_user(organization, "bob@riverside.example")
    receiver.script.append(500)

    result = _manage("deliver_webhooks", "--until-idle")

    assert json.loads(result.stdout) == {"delivered": 2, "failed_attempts": 1, "pending": 0}
    assert receiver.positions() == [1, 2]


def test_add_webhook_endpoint_prints_its_id_and_secret_once_as_json(organization, receiver):
    result = _manage("add_webhook_endpoint", organization.slug, "--url", receiver.url, "--json")

    output = json.loads(result.stdout)
    row = services.WebhookEndpoint.objects.get()
    assert output["id"] == str(row.public_id)
    assert output["secret"].startswith("whsec_")
    assert output["secret"] not in json.dumps(
        list(services.WebhookSecret.objects.values()), default=str
    )


def test_add_webhook_endpoint_for_all_organizations_has_no_organization(receiver):
    result = _manage("add_webhook_endpoint", "--all-organizations", "--url", receiver.url, "--json")

    assert json.loads(result.stdout)["organization"] is None
    assert services.WebhookEndpoint.objects.get().organization is None
