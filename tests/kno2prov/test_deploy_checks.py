import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

PRODUCTION_ENV = {
    "SECRET_KEY": "a-production-secret-key-that-is-long-and-random-0123456789abcdef",
    "TOKEN_PEPPER": "a-production-token-pepper-that-differs-from-the-secret-key-42",
    "PUBLIC_BASE_URL": "https://provisioning.kno2.example",
    "ALLOWED_HOSTS": "provisioning.kno2.example",
    "DEBUG": "false",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "WEBHOOK_SECRET_KEYS": "cHJvZHVjdGlvbi13ZWJob29rLXNlY3JldHMta2V5ISE=",
}


def _check_deploy(env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _environment(**overrides: str | None) -> dict:
    # The browser tests allow sync ORM calls beside Playwright's loop in this process only.
    env = {**os.environ, **PRODUCTION_ENV, "DJANGO_ALLOW_ASYNC_UNSAFE": None, **overrides}
    return {name: value for name, value in env.items() if value is not None}


def test_production_settings_pass_the_deploy_checks():
    result = _check_deploy(_environment())
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("unset", "check_id"),
    [
        ("SECRET_KEY", "kno2prov.E001"),
        ("TOKEN_PEPPER", "kno2prov.E002"),
        ("WEBHOOK_SECRET_KEYS", "kno2prov.E010"),
    ],
)
def test_deploy_checks_refuse_the_development_secrets(unset, check_id):
    result = _check_deploy(_environment(**{unset: None}))
    assert result.returncode != 0
    assert check_id in result.stderr


def test_deploy_checks_refuse_a_pepper_equal_to_the_secret_key():
    result = _check_deploy(_environment(TOKEN_PEPPER=PRODUCTION_ENV["SECRET_KEY"]))
    assert "kno2prov.E003" in result.stderr


def test_deploy_checks_warn_when_rate_limits_are_not_shared():
    result = _check_deploy(_environment(REDIS_URL=None))
    assert "kno2prov.W001" in result.stderr


def _load_wsgi(env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", "import kno2prov.wsgi"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("unset", ["SECRET_KEY", "TOKEN_PEPPER"])
def test_the_server_refuses_to_start_with_debug_off_on_a_development_secret(unset):
    result = _load_wsgi(_environment(**{unset: None}))

    assert result.returncode != 0
    assert f"Refusing to start with DEBUG off: {unset} has the development value" in result.stderr


def test_the_server_starts_with_debug_on_and_the_development_secrets():
    result = _load_wsgi(_environment(SECRET_KEY=None, TOKEN_PEPPER=None, DEBUG="true"))

    assert result.returncode == 0, result.stderr


def test_the_server_starts_with_production_secrets():
    result = _load_wsgi(_environment())

    assert result.returncode == 0, result.stderr


def _quick_start_environment() -> dict:
    """The environment ``scripts/quickstart.sh`` runs ``runserver`` (and its checks) in."""
    script = (ROOT / "scripts" / "quickstart.sh").read_text()
    exported = dict(
        line.removeprefix("export ").split("=", 1)
        for line in script.splitlines()
        if line.startswith("export ")
    )
    env = {name: value for name, value in os.environ.items() if name not in PRODUCTION_ENV}
    env["DEBUG"] = "true"
    # ${PUBLIC_BASE_URL:-http://localhost:${PORT:-8000}} with PORT unset.
    env["PUBLIC_BASE_URL"] = (
        exported["PUBLIC_BASE_URL"].split(":-", 1)[1].replace("${PORT:-8000}}", "8000").rstrip("}")
    )
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    return env


def test_the_quick_start_environment_passes_the_system_checks_runserver_runs():
    env = _quick_start_environment()
    assert env["PUBLIC_BASE_URL"] == "http://localhost:8000"

    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--fail-level", "ERROR"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr


def test_deploy_checks_refuse_outbound_fetches_to_loopback():
    result = _check_deploy(_environment(OUTBOUND_ALLOW_LOOPBACK="true"))
    assert result.returncode != 0
    assert "kno2prov.E040" in result.stderr
