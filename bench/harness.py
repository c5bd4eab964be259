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
        # localhost: django-otp-webauthn's check refuses any other plain-http origin.
        "PUBLIC_BASE_URL": "http://localhost",
        # The production shape: limiter counters and tenant concurrency slots in Redis.
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
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
    return add_tenant(env, slug)


def add_tenant(env: dict[str, str], slug: str) -> tuple[str, str]:
    """One more organization with provisioning on and a token; ``(token, public_id)``."""
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


@dataclass
class PgBouncer:
    """Debian's ``pgbouncer`` in transaction pooling in front of the bench's PostgreSQL."""

    process: subprocess.Popen
    database_url: str
    directory: Path

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def start_pgbouncer(database_url: str, pool_size: int = 20) -> PgBouncer:
    """``pgbouncer`` on a free loopback port, pooling by transaction into ``database_url``'s
    server (trust authentication, as the bench's PostgreSQL); returns the URL to give the app
    servers. It refuses to run as root, so it runs as ``postgres`` when this process is root."""
    import dj_database_url

    config = dj_database_url.parse(database_url)
    port = free_port()
    directory = Path(tempfile.mkdtemp(prefix="kno2prov-pgbouncer-"))
    directory.chmod(0o777)
    user = config["USER"] or "postgres"
    (directory / "users.txt").write_text(f'"{user}" ""\n')
    (directory / "pgbouncer.ini").write_text(
        "[databases]\n"
        f"* = host={config['HOST'] or '127.0.0.1'} port={config['PORT'] or 5432}\n"
        "[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\n"
        f"unix_socket_dir = {directory}\n"
        "auth_type = trust\n"
        f"auth_file = {directory / 'users.txt'}\n"
        "pool_mode = transaction\n"
        f"default_pool_size = {pool_size}\n"
        "max_client_conn = 1000\n"
        "ignore_startup_parameters = extra_float_digits,options\n"
        f"logfile = {directory / 'pgbouncer.log'}\n"
    )
    for path in directory.iterdir():
        path.chmod(0o666)
    command = ["/usr/sbin/pgbouncer", str(directory / "pgbouncer.ini")]
    if os.geteuid() == 0:
        command = ["runuser", "-u", "postgres", "--", *command]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 15
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"pgbouncer did not start; see {directory}") from None
            time.sleep(0.1)
    password = f":{config['PASSWORD']}" if config["PASSWORD"] else ""
    url = f"postgres://{user}{password}@127.0.0.1:{port}/{config['NAME']}"
    return PgBouncer(process, url, directory)


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
