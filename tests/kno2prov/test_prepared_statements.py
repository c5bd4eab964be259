"""PostgreSQL plans what every SCIM request repeats once per connection (prepared statements),
except behind PgBouncer in transaction pooling, where a prepared statement would outlive its
server connection; and the statements sent several at once still run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from core.db import multi_statement_cursor

ROOT = Path(__file__).resolve().parents[2]
POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/kno2prov"


def _database_options(**environment: str) -> dict:
    """``DATABASES["default"]["OPTIONS"]`` as the settings module builds it in a fresh process."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("DB_")}
    env.update(environment)
    completed = subprocess.run(
        [
            sys.executable,
            "-c",
            "import json; from kno2prov import settings; "
            "print(json.dumps(settings.DATABASES['default'].get('OPTIONS', {})))",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(completed.stdout)


@pytest.mark.postgres_only
@pytest.mark.django_db
def test_a_lookup_repeated_on_one_connection_is_prepared_by_postgresql(client, organization, token):
    _, plaintext = token
    for n in range(8):
        response = client.get(
            f"/scim/v2/{organization.public_id}/Users",
            {"filter": f'userName eq "nobody{n}@example.com"'},
            HTTP_AUTHORIZATION=f"Bearer {plaintext}",
        )
        assert response.status_code == 200

    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [row[0] for row in cursor.fetchall()]
    assert any('FROM "scim_scimuser"' in sql and '"user_name_key" = $' in sql for sql in prepared)
    assert any('FROM "organizations_provisioningtoken"' in sql for sql in prepared)


def test_postgresql_binds_on_the_server_and_prepares_after_five_runs_by_default():
    options = _database_options(DATABASE_URL=POSTGRES_URL)
    assert options["server_side_binding"] is True
    assert options["prepare_threshold"] == 5


def test_a_prepare_threshold_of_zero_prepares_nothing():
    options = _database_options(DATABASE_URL=POSTGRES_URL, DB_PREPARE_THRESHOLD="0")
    assert options["prepare_threshold"] is None


def test_behind_pgbouncer_nothing_is_prepared_whatever_the_threshold():
    options = _database_options(
        DATABASE_URL=POSTGRES_URL, DB_TRANSACTION_POOLING="true", DB_PREPARE_THRESHOLD="2"
    )
    assert options["prepare_threshold"] is None


@pytest.mark.postgres_only
@pytest.mark.django_db
def test_statements_sent_together_run_with_their_parameters_and_are_counted():
    executed: list[str] = []

    def record(execute, sql, params, many, context):
        executed.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record), multi_statement_cursor() as cursor:
        cursor.execute("SELECT %s::int; SELECT %s::text", [7, "seven"])
        first = cursor.fetchall()
        assert cursor.nextset()
        second = cursor.fetchall()

    assert (first, second) == ([(7,)], [("seven",)])
    assert executed == ["SELECT %s::int; SELECT %s::text"]
