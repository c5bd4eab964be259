from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from django_ratelimit.core import _get_window as real_rate_limit_window

from organizations.models import Organization

from . import factories


@pytest.fixture(autouse=True)
def _fast_and_fixed_settings(settings):
    """Fast password hashing and fixed secrets, so tests are quick and independent of env."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # The same secrets as the processes the tests start (TEST_ENV), so what one encrypts or
    # signs the other reads.
    settings.SECRET_KEY = TEST_ENV["SECRET_KEY"]
    settings.TOKEN_PEPPER = TEST_ENV["TOKEN_PEPPER"]
    settings.PUBLIC_BASE_URL = "https://provisioning.kno2.test"


@pytest.fixture(autouse=True)
def _empty_cache():
    """Rate-limit counters live in the cache; each test starts with none."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _one_rate_limit_window(monkeypatch):
    """Every limit a test's own process counts stays in one fixed window for the whole test.

    django-ratelimit counts in fixed windows that end at a moment derived from the clock; a
    test that crossed one would see its count start again from zero and fail at random. Each
    (value, period) keeps the first window it was given; one that would end within
    ``_WINDOW_MARGIN_SECONDS`` is replaced by the next, so ``Retry-After`` stays positive (it
    may then exceed the period by up to the margin: a test asserting its upper bound calls
    ``wait_for_a_fresh_window`` first). Nothing sleeps here: most SCIM tests count against a
    ten-second window. Servers the tests start count for themselves: ``wait_for_a_fresh_window``
    is for them too.
    """
    from django_ratelimit import core

    pinned: dict[tuple[str, int], int] = {}

    def pinned_window(value, period):
        key = (value, period)
        if key not in pinned:
            window = real_rate_limit_window(value, period)
            if window - time.time() < _WINDOW_MARGIN_SECONDS:
                window += period
            pinned[key] = window
        return pinned[key]

    monkeypatch.setattr(core, "_get_window", pinned_window)


_WINDOW_MARGIN_SECONDS = 3


def wait_for_a_fresh_window(value: str, period: int, margin: float) -> None:
    """Sleep until django-ratelimit's fixed window of ``period`` seconds for ``value`` has at
    least ``margin`` seconds left, so requests to a server started by the test all count in
    one window."""
    left = real_rate_limit_window(value, period) - time.time()
    if left < margin:
        time.sleep(left + 1)


@pytest.fixture
def without_sync_history():
    """Measure the SCIM layer alone: the sync history (``portal.recording``, a receiver of
    ``scim.signals.call_completed``) writes its own rows per call and keeps its own budget."""
    from portal.recording import DISPATCH_UID, record_call
    from scim.signals import call_completed

    call_completed.disconnect(dispatch_uid=DISPATCH_UID)
    yield
    call_completed.connect(record_call, dispatch_uid=DISPATCH_UID)


@pytest.fixture
def staff_user(db):
    return factories.make_staff()


@pytest.fixture
def admin_client(client, staff_user):
    """pytest-django's ``admin_client``, signed in through the admin's form with a second
    factor (its own version uses ``force_login``, which the admin rightly refuses)."""
    return factories.staff_sign_in(client, staff_user)


@pytest.fixture
def organization(db) -> Organization:
    return factories.make_organization(name="Riverside Clinic", slug="riverside")


@pytest.fixture
def other_organization(db) -> Organization:
    return factories.make_organization(
        name="Lakeside Hospital", slug="lakeside", tenant_id=factories.TENANT_B
    )


@pytest.fixture
def token(organization):
    """An active token of ``organization``: ``(row, plaintext)``."""
    return factories.make_token(organization)


TEST_ENV = {
    "SECRET_KEY": "test-secret-key-not-a-secret-0123456789-abcdefghijklmnopqrstuvwxyz",
    "TOKEN_PEPPER": "test-pepper-not-a-secret",
    "PUBLIC_BASE_URL": "https://provisioning.kno2.test",
    # The test server speaks plain http on loopback; no redirect to https, no HSTS.
    "SECURE_SSL_REDIRECT": "false",
    "SECURE_HSTS_SECONDS": "0",
    # The shared server outlives every test; tests of the limits start servers of their own.
    "SCIM_RATE_LIMIT": "1000000/10s",
    "SCIM_AUTH_FAILURE_RATE": "1000000/5m",
    # IdPs, issuers and webhook receivers of the tests run on 127.0.0.1.
    "OUTBOUND_ALLOW_LOOPBACK": "true",
    # /metrics trusts no address by default; tests scrape with this key.
    "METRICS_TOKEN": "test-metrics-token-not-a-secret",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _database_url(settings_dict: dict) -> str:
    if settings_dict["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{settings_dict['NAME']}"
    user = settings_dict.get("USER") or ""
    password = f":{settings_dict['PASSWORD']}" if settings_dict.get("PASSWORD") else ""
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = settings_dict.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{settings_dict['NAME']}"


@dataclass
class RunningServer:
    url: str
    process: subprocess.Popen
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text()

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def launch_gunicorn(
    workdir: Path,
    port: int | None = None,
    *,
    app: str = "kno2prov.wsgi",
    threads: int = 4,
    **env_overrides: str,
) -> RunningServer:
    """Start gunicorn with the production config on the test database, on ``port`` (default: a
    free one, so a test that must know its URL first, e.g. for ``PUBLIC_BASE_URL``, picks it).

    ``workdir`` holds its log and metrics files; ``app`` is the WSGI application it serves,
    with ``threads`` per worker; ``env_overrides`` change its settings.
    """
    from django.db import connection

    port = port or free_port()
    log_path = workdir / "gunicorn.log"
    metrics_dir = workdir / "metrics"
    metrics_dir.mkdir(exist_ok=True)
    env = {
        **os.environ,
        **TEST_ENV,
        "DATABASE_URL": _database_url(connection.settings_dict),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DEBUG": "false",
        "DB_CONN_MAX_AGE": "0",
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        # Tests read the history right after a call; tests/portal/test_writebehind_server.py
        # serves with the production default, which writes it behind the response.
        "SYNC_HISTORY_FLUSH_MS": "0",
        **env_overrides,
    }
    # Set for Playwright in this process only; a served app keeps Django's async safety.
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                app,
                "--config",
                "python:kno2prov.gunicorn_conf",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "2",
                "--threads",
                str(threads),
                "--error-logfile",
                "-",
            ],
            cwd=Path(__file__).resolve().parent.parent,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = RunningServer(url=f"http://127.0.0.1:{port}", process=process, log_path=log_path)
    # Ready when a worker answers, not when the master accepts: the workers load the
    # application after the port is bound, and on a loaded machine that takes seconds a test's
    # own deadlines should not pay for.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited early:\n{log_path.read_text()}")
        try:
            requests.get(f"{server.url}/healthz", timeout=5)
        except requests.RequestException:
            time.sleep(0.1)
        else:
            return server
    server.stop()
    raise RuntimeError(f"gunicorn did not start:\n{log_path.read_text()}")


@pytest.fixture(scope="session")
def gunicorn_server(django_db_setup, django_db_blocker, tmp_path_factory) -> RunningServer:
    """A real gunicorn serving the test database over HTTP on a free loopback port.

    Tests that use it must also use ``transactional_db`` so their data is committed and
    visible to the server's own connections.
    """
    server = launch_gunicorn(tmp_path_factory.mktemp("gunicorn"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser():
    """Debian's chromium driven by Playwright: no browser download, ever."""
    from playwright import sync_api

    executable = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium")
    if not executable:
        pytest.fail("Debian's chromium is not installed: run scripts/test.sh, which installs it.")
    # Playwright's sync API runs an event loop in this thread; the ORM calls the tests make
    # alongside it are still plain synchronous calls.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_api.sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=executable,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield instance
        instance.close()


@pytest.fixture
def page(browser):
    """A fresh browser page; the test fails if the page broke its Content-Security-Policy."""
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(10_000)
    violations: list[str] = []
    page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    yield page
    context.close()
    assert violations == [], "the page broke its Content-Security-Policy"
