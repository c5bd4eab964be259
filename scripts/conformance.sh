#!/usr/bin/env bash
# Run the external SCIM conformance suites (scim2-tester, scim-sanity) and print their findings.
#
#   scripts/conformance.sh                      fresh SQLite database, demo organization and token,
#                                               gunicorn on a free loopback port (all thrown away)
#   scripts/conformance.sh <tenant URL> <token> against a server you run (it creates and deletes
#                                               test users and groups there)
#
# Exit status 0 when scim2-tester reports no failure and scim-sanity finds only what
# tests/e2e/test_conformance.py allows (each with its RFC reason). CI runs the same tools on
# PostgreSQL through pytest (tests/e2e/test_conformance.py).
set -euo pipefail
cd "$(dirname "$0")/.."
EXTRAS=test bash scripts/setup-venv.sh

if [ $# -ge 2 ]; then
    exec .venv/bin/python -m tests.e2e.conformance_report "$1" "$2"
fi

workdir=$(mktemp -d)
port=$(.venv/bin/python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export VAR_DIR=$workdir DATABASE_URL=sqlite:///$workdir/db.sqlite3 DB_CONN_MAX_AGE=0
export PUBLIC_BASE_URL=http://127.0.0.1:$port ALLOWED_HOSTS=127.0.0.1,localhost
gunicorn_pid=""
cleanup() {
    if [ -n "$gunicorn_pid" ]; then kill "$gunicorn_pid" 2>/dev/null || true; wait "$gunicorn_pid" 2>/dev/null || true; fi
    rm -rf "$workdir"
}
trap cleanup EXIT

.venv/bin/python manage.py migrate --no-input -v0
demo=$(DEBUG=true .venv/bin/python manage.py bootstrap_demo)
tenant_url=$(printf '%s\n' "$demo" | sed -n 's/^Tenant URL: *//p')
token=$(printf '%s\n' "$demo" | sed -n 's/^Secret Token: *//p')

DEBUG=false .venv/bin/python -m gunicorn kno2prov.wsgi --bind "127.0.0.1:$port" \
    --workers 2 --threads 4 --timeout 30 >"$workdir/gunicorn.log" 2>&1 &
gunicorn_pid=$!
for _ in $(seq 100); do
    if .venv/bin/python -c "import socket; socket.create_connection(('127.0.0.1', $port), 0.2)" 2>/dev/null; then
        break
    fi
    sleep 0.1
done

.venv/bin/python -m tests.e2e.conformance_report "$tenant_url" "$token"
