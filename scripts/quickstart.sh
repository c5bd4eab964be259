#!/usr/bin/env bash
# The README's first command: set up, migrate, create a demo organization with a staff login and a
# provisioning token, print them, and serve the portal on http://localhost:8000 (SQLite, DEBUG on).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-venv.sh
export DEBUG=${DEBUG:-true}
# Local development: webhook receivers and IdPs on this machine may be fetched.
export OUTBOUND_ALLOW_LOOPBACK=${OUTBOUND_ALLOW_LOOPBACK:-true}
# localhost, not 127.0.0.1: a passkey (WebAuthn) needs a host name, and django-otp-webauthn
# accepts plain http only for localhost.
export PUBLIC_BASE_URL=${PUBLIC_BASE_URL:-http://localhost:${PORT:-8000}}
PORT=${PORT:-8000}
# Before bootstrap_demo: it revokes the previous demo token, which must not happen when the
# server cannot start (another quick start, or anything else, already on the port).
if ! .venv/bin/python -c 'import socket, sys; socket.create_server(("127.0.0.1", int(sys.argv[1])))' "$PORT" 2>/dev/null; then
  echo "Port $PORT is already in use. Stop what runs there, or pick another: PORT=8001 bash scripts/quickstart.sh" >&2
  echo "Nothing was changed: the previous demo token still works." >&2
  exit 1
fi
.venv/bin/python manage.py migrate --no-input -v0
.venv/bin/python manage.py bootstrap_demo
exec .venv/bin/python manage.py runserver "127.0.0.1:$PORT"
