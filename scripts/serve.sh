#!/usr/bin/env bash
# Runs the portal locally the way production does: PostgreSQL, gunicorn with the production
# config (kno2prov/gunicorn_conf.py), JSON logs, DEBUG off, static files through whitenoise.
#
#   DATABASE_URL   default postgres://postgres@127.0.0.1:5432/kno2prov (created if missing)
#   PORT           default 8000
# SECRET_KEY and TOKEN_PEPPER are generated once into var/serve.env and reused, so tokens
# issued against this server keep working across restarts. Anything else: see .env.example.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-venv.sh

mkdir -p var
if [ ! -f var/serve.env ]; then
    umask 077
    {
        echo "SECRET_KEY=$(.venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(50))')"
        echo "TOKEN_PEPPER=$(.venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(50))')"
    } > var/serve.env
fi
set -a
# shellcheck disable=SC1091
. var/serve.env
set +a
export DEBUG=false
export DATABASE_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/kno2prov}
export PORT=${PORT:-8000}
export PUBLIC_BASE_URL=${PUBLIC_BASE_URL:-http://127.0.0.1:$PORT}
export LOG_FORMAT=${LOG_FORMAT:-json}

.venv/bin/python - <<'PY'
import os
import dj_database_url
import psycopg
from psycopg import sql

config = dj_database_url.parse(os.environ["DATABASE_URL"])
if config["ENGINE"].endswith("postgresql"):
    with psycopg.connect(
        dbname="postgres", user=config["USER"], password=config["PASSWORD"] or None,
        host=config["HOST"] or None, port=config["PORT"] or None, autocommit=True,
    ) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [config["NAME"]])
        if exists.fetchone() is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(config["NAME"])))
PY
.venv/bin/python manage.py migrate --no-input -v0
.venv/bin/python manage.py collectstatic --no-input -v0
# Production would also pass --fail-level WARNING; over plain http the https warnings are expected.
.venv/bin/python manage.py check --deploy || true
exec .venv/bin/gunicorn kno2prov.wsgi --config python:kno2prov.gunicorn_conf --bind "127.0.0.1:$PORT"
