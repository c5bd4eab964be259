#!/usr/bin/env bash
# The README's second command, and what CI runs: install everything the tests need (Debian's
# chromium included), lint, check migrations, then run the whole suite on PostgreSQL (printing
# line coverage per app, scripts/coverage_by_app.py) and on SQLite.
#
#   TEST_DATABASE_URL   PostgreSQL server to test on (default postgres://postgres@127.0.0.1:5432/kno2prov);
#                       pytest-django creates a fresh test_<name> database each run.
#   SKIP_SQLITE=1       run only the PostgreSQL pass.
# Extra arguments go to both pytest runs (e.g. scripts/test.sh -k tokens).
set -euo pipefail
cd "$(dirname "$0")/.."

EXTRAS=test bash scripts/setup-venv.sh

# chromium for the browser tests; xmlsec1, with which pysaml2 checks SAML signatures;
# SimpleSAMLphp, the real SAML IdP the browser tests sign in through (tests/sso/simplesamlphp.py),
# with the PHP extensions it needs but does not depend on (php-xml: dom, SimpleXML; php-mbstring);
# valgrind, whose callgrind bench/instructions_per_request.py counts with.
missing=""
command -v chromium >/dev/null 2>&1 || missing="$missing chromium"
command -v callgrind_control >/dev/null 2>&1 || missing="$missing valgrind"
command -v xmlsec1 >/dev/null 2>&1 || missing="$missing xmlsec1"
[ -f /usr/share/simplesamlphp/www/saml2/idp/SSOService.php ] || missing="$missing simplesamlphp"
if command -v php >/dev/null 2>&1; then
    php -m | grep -qx dom || missing="$missing php-xml"
    php -m | grep -qx mbstring || missing="$missing php-mbstring"
else
    missing="$missing php-cli php-xml php-mbstring"
fi
if [ -n "$missing" ]; then
    echo "Installing Debian's$missing for the tests..."
    SUDO=""
    [ "$(id -u)" = 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
fi
export CHROMIUM_PATH=${CHROMIUM_PATH:-$(command -v chromium)}

.venv/bin/ruff check .
.venv/bin/ruff format --check .
# The apps' layers (pyproject.toml [tool.importlinter]): a lower app never imports a higher one.
.venv/bin/lint-imports --no-cache
.venv/bin/python manage.py makemigrations --check --dry-run >/dev/null

work_dir=$(mktemp -d)
trap 'rm -rf "$work_dir"' EXIT

pg_url=${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/kno2prov}
echo "== pytest on PostgreSQL ($pg_url), measuring coverage"
export COVERAGE_FILE=$work_dir/.coverage
DATABASE_URL=$pg_url .venv/bin/python -m pytest --create-db -p no:cacheprovider \
    --cov --cov-report= "$@"
.venv/bin/python scripts/coverage_by_app.py
unset COVERAGE_FILE

if [ -z "${SKIP_SQLITE:-}" ]; then
    echo "== pytest on SQLite"
    sqlite_dir=$work_dir/sqlite
    mkdir "$sqlite_dir"
    DATABASE_URL=sqlite:///$sqlite_dir/db.sqlite3 VAR_DIR=$sqlite_dir \
        .venv/bin/python -m pytest --create-db -p no:cacheprovider -m "not postgres_only" "$@"
fi
