"""What the scripts under ``bench/`` share: a fresh database, a tenant, and real gunicorn servers.

Servers run the production gunicorn config with ``BENCH_MODE=true`` (``X-Query-Count`` headers
and the bare ceiling view) against their own PostgreSQL database, which is dropped and created
anew each run.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/kno2prov_bench"
DEMO_ISSUER = "https://sts.windows.net/11111111-2222-3333-4444-555555555555/"


@dataclass
class Servers:
    processes: list[subprocess.Popen]
    urls: list[str]
    log_dir: Path

    def stop(self) -> None:
        for process in self.processes:
            os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


def bench_environment(database_url: str) -> dict[str, str]:
    """The environment the servers, the management commands and this process all share."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "kno2prov.settings",
        "DATABASE_URL": database_url,
        "BENCH_MODE": "true",
        "DEBUG": "false",
        "LOG_LEVEL": "WARNING",
        "PUBLIC_BASE_URL": "http://127.0.0.1",
        "SECRET_KEY": "bench-secret-key-not-for-production-0123456789",
        "TOKEN_PEPPER": "bench-token-pepper-not-for-production-9876543210",
        # Measure the service, not the limiter: one tenant sends everything here.
        "SCIM_RATE_LIMIT": "100000000/10s",
        "SCIM_AUTH_FAILURE_RATE": "100000000/5m",
        # The benches' webhook receivers (and any IdP) run on 127.0.0.1.
        "OUTBOUND_ALLOW_LOOPBACK": "true",
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _admin_connection(database_url: str):
    """An autocommit connection to the server's ``postgres`` database, and the name to manage."""
    import dj_database_url
    import psycopg
    from psycopg import sql

    config = dj_database_url.parse(database_url)
    connection = psycopg.connect(
        dbname="postgres",
        user=config["USER"] or None,
        password=config["PASSWORD"] or None,
        host=config["HOST"] or None,
        port=config["PORT"] or None,
        autocommit=True,
    )
    return connection, sql.Identifier(config["NAME"])


def drop_database(database_url: str) -> None:
    from psycopg import sql

    connection, name = _admin_connection(database_url)
    with connection:
        connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))


def recreate_database(database_url: str) -> None:
    from psycopg import sql

    drop_database(database_url)
    connection, name = _admin_connection(database_url)
    with connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(name))


def manage(env: dict[str, str], *arguments: str) -> str:
    return subprocess.run(
        [sys.executable, "manage.py", *arguments],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def provision_tenant(env: dict[str, str], slug: str = "bench") -> tuple[str, str]:
    """Migrate the fresh database and create one organization; return ``(token, public_id)``."""
    manage(env, "migrate", "--no-input", "-v0")
    manage(
        env,
        "create_organization",
        "--name",
        f"{slug.title()} Clinic",
        "--slug",
        slug,
        "--issuer",
        DEMO_ISSUER,
        "--enable-provisioning",
    )
    issued = json.loads(manage(env, "issue_token", slug, "--label", slug, "--json"))
    return issued["token"], issued["tenant_url"].rsplit("/", 1)[1]


def start_servers(
    env: dict[str, str], count: int = 1, *, workers: int = 0, threads: int = 0
) -> Servers:
    """``count`` gunicorn instances on free loopback ports, each ready before this returns."""
    processes, urls = [], []
    log_dir = Path(tempfile.mkdtemp(prefix="kno2prov-bench-"))
    for n in range(count):
        port = free_port()
        metrics_dir = log_dir / f"metrics-{n}"
        metrics_dir.mkdir()
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "kno2prov.wsgi",
            "--config",
            "python:kno2prov.gunicorn_conf",
            "--bind",
            f"127.0.0.1:{port}",
        ]
        if workers:
            command += ["--workers", str(workers)]
        if threads:
            command += ["--threads", str(threads)]
        with (log_dir / f"gunicorn-{n}.log").open("w") as log:
            processes.append(
                subprocess.Popen(
                    command,
                    cwd=ROOT,
                    env={**env, "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)},
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
        urls.append(f"http://127.0.0.1:{port}")
    servers = Servers(processes, urls, log_dir)
    for url in urls:
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(f"{url}/readyz", timeout=2).ok:
                    break
            except (requests.ConnectionError, requests.Timeout):
                pass  # not listening yet, or still busy starting on a loaded machine
            if time.monotonic() > deadline:
                servers.stop()
                raise SystemExit(f"server at {url} did not start; logs in {log_dir}")
            time.sleep(0.2)
    return servers
