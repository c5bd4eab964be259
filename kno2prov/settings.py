"""Settings for the Kno2 provisioning portal: the only settings module.

Every value comes from an environment variable with a safe default, so ``pytest`` and
``runserver`` work with no environment at all. Each variable is listed in ``.env.example``
and in the README's configuration table.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from csp.constants import NONCE, NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str) -> str:
    """A string setting; ``NAME_FILE`` (a path) wins over ``NAME``, for container secrets."""
    file_path = os.environ.get(f"{name}_FILE")
    if file_path:
        return Path(file_path).read_text().strip()
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}") from exc


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


# Deliberately public development values; the deploy checks refuse them in production.
DEV_SECRET_KEY = "django-insecure-dev-only-secret-key-change-me"  # noqa: S105
DEV_TOKEN_PEPPER = "django-insecure-dev-only-token-pepper-change-me"  # noqa: S105

# --- Django, the site and its security ---
SECRET_KEY = env_str("SECRET_KEY", DEV_SECRET_KEY)
# Keyed hash for provisioning tokens. Kept apart from SECRET_KEY so that rotating the session
# signing key does not break every customer's Azure provisioning job.
TOKEN_PEPPER = env_str("TOKEN_PEPPER", DEV_TOKEN_PEPPER)
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])

# Scheme and host that tenant URLs are built from. Never taken from the request's Host header:
# a tenant URL pasted into Azure must not depend on how staff reached the admin.
PUBLIC_BASE_URL = env_str("PUBLIC_BASE_URL", "http://localhost:8000").rstrip("/")
_public = urlsplit(PUBLIC_BASE_URL)
if _public.scheme not in {"http", "https"} or not _public.netloc:
    raise ImproperlyConfigured(
        f"PUBLIC_BASE_URL must be an absolute http(s) URL, not {PUBLIC_BASE_URL!r}"
    )
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [f"{_public.scheme}://{_public.netloc}"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "axes",
    "django_scim",
    "core",
    "organizations",
    "oauth",
    "scim",
    "portal",
    "django_tasks",
    "django_tasks_db",
    "drf_spectacular",
    "directory",
    "sso",
    "staffauth",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "django_otp_webauthn",
    "demo",
]

MIDDLEWARE = [
    "core.requestid.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "core.staffsession.StaffSessionMiddleware",
    "sso.middleware.SsoSessionMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "kno2prov.urls"
WSGI_APPLICATION = "kno2prov.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

VAR_DIR = Path(env_str("VAR_DIR", str(BASE_DIR / "var")))
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
        conn_max_age=env_int("DB_CONN_MAX_AGE", 600),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the portal read while a SCIM write is in flight; the timeout rides out the
    # short write locks SQLite takes instead of failing with "database is locked".
    # IMMEDIATE: a transaction takes the write lock when it begins, so concurrent writers queue
    # for the timeout instead of failing with "database is locked" when a read turns into a write.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "init_command": "PRAGMA journal_mode=WAL;", "transaction_mode": "IMMEDIATE"}
    )
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # A file, not memory, so end-to-end tests can serve the test database from another process.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
else:
    # Parameters bound on the server, so that psycopg can prepare what every SCIM request
    # repeats: PostgreSQL then parses and plans the token check, the lookup, the insert and the
    # directory event once per connection, not on every request (about half of PostgreSQL's CPU
    # per request; README, "Issue 21, tenth round"). A statement is prepared once one connection
    # has run it DB_PREPARE_THRESHOLD times (0: never). Where several statements go in one
    # execution, they bind on the client (``core.db.multi_statement_cursor``).
    DATABASES["default"].setdefault("OPTIONS", {})["server_side_binding"] = True
    DATABASES["default"]["OPTIONS"]["prepare_threshold"] = (
        env_int("DB_PREPARE_THRESHOLD", 5) or None
    )
    if env_bool("DB_TRANSACTION_POOLING", False):
        # Behind PgBouncer in transaction pooling, consecutive transactions of one Django
        # connection may run on different server connections: nothing may outlive a transaction
        # there. No prepared statements (whatever DB_PREPARE_THRESHOLD says) and no server-side
        # cursors (``.iterator()`` would open a named cursor WITH HOLD). A persistent Django
        # connection is then a connection to PgBouncer, which is cheap to keep
        # (DB_CONN_MAX_AGE); the PostgreSQL connections are PgBouncer's pool.
        DATABASES["default"]["OPTIONS"]["prepare_threshold"] = None
        DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(VAR_DIR / "static")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Serve straight from the apps' static folders too, so runserver, tests and a fresh checkout work
# before collectstatic has run; production runs collectstatic for compressed copies.
WHITENOISE_USE_FINDERS = True

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]

# Transport security. Production serves PUBLIC_BASE_URL over https behind a load balancer that
# terminates TLS and sets X-Forwarded-Proto; cookies, HSTS and the https redirect follow it.
_https = _public.scheme == "https"
if env_bool("TRUST_X_FORWARDED_PROTO", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", _https)
# Load balancer probes and the metrics scraper talk plain http inside the network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SESSION_COOKIE_SECURE = _https
CSRF_COOKIE_SECURE = _https
SESSION_COOKIE_HTTPONLY = True
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000 if _https else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = _https
# Only marks the header as eligible; joining the browsers' preload list is a separate, manual step.
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", _https)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Shared cache: rate-limit counters (and anything else cached) must be common to every worker and
# app server, so production sets REDIS_URL; without it each process keeps its own in memory.
REDIS_URL = env_str("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "kno2prov",
            "OPTIONS": {"socket_timeout": 1, "socket_connect_timeout": 1},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Largest request body accepted; a larger one answers 413 with a SCIM error body. 2.5 MiB holds a
# PATCH adding about 40,000 members.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("MAX_REQUEST_BODY_BYTES", 2_621_440)

# Content security policy (django-csp): scripts only from here or carrying this response's nonce.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        # Django's admin and the portal set a few inline style attributes; styles cannot run code.
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    },
}

# Sign-in guessing on the admin and the portal (django-axes): after LOGIN_FAILURE_LIMIT failed
# attempts for one username from one address, that pair is locked out for LOGIN_COOLOFF_MINUTES.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    # A staff passkey signs in on its own (it is possession and user verification at once).
    "django_otp_webauthn.backends.WebAuthnBackend",
]
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "core.ratelimit.client_ip_or_none"
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"

# Error pages and reports hide secrets (tokens, the Authorization header) even with DEBUG on.
DEFAULT_EXCEPTION_REPORTER_FILTER = "core.reporting.AlwaysSafeExceptionReporterFilter"

LOGIN_URL = "admin:login"

# --- Shared by every app (core app): client addresses, rate limits, logs and mail ---
# A cache outage must not stop provisioning: limits are skipped while the cache is unreachable.
RATELIMIT_FAIL_OPEN = True
# How many proxies (load balancers) in front of the app append to X-Forwarded-For.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)
# Tests and local development only: let outbound fetches (IdP metadata, OpenID discovery and
# JWKS, webhook deliveries; core/outbound.py) reach loopback, over plain http too.
OUTBOUND_ALLOW_LOOPBACK = env_bool("OUTBOUND_ALLOW_LOOPBACK", False)

LOG_LEVEL = env_str("LOG_LEVEL", "INFO").upper()
# json: one object per line with the request id, for log shippers; plain: for people at a terminal.
LOG_FORMAT = env_str("LOG_FORMAT", "plain" if DEBUG else "json")
if LOG_FORMAT not in {"json", "plain"}:
    raise ImproperlyConfigured(f"LOG_FORMAT must be json or plain, not {LOG_FORMAT!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "core.requestid.RequestIdFilter"},
        "redact_query": {"()": "core.requestid.QueryRedactionFilter"},
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(request_id)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request_id", "redact_query"],
        },
    },
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        **{
            app: {"level": LOG_LEVEL}
            for app in (
                "kno2prov",
                "core",
                "organizations",
                "staffauth",
                "directory",
                "oauth",
                "scim",
                "portal",
                "sso",
                "demo",
            )
        },
        # django-scim2 logs whole request bodies (PII) at DEBUG.
        "django_scim": {"level": "WARNING"},
        # Authlib logs each issued token dict (the access token itself) at DEBUG.
        "authlib": {"level": "WARNING"},
        "django_otp_webauthn": {"level": "WARNING"},
        # pysaml2 logs whole SAML documents (NameID, signature) at ERROR when a response fails its
        # schema or parse; the sso app logs each refusal itself, without the document.
        "saml2": {"level": "CRITICAL"},
        "django": {"level": "INFO" if LOG_LEVEL == "DEBUG" else "WARNING"},
    },
}

# Outgoing mail: portal alerts (manage.py send_alerts), disabled-webhook alerts, invitations.
# The console backend prints mail in development.
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Kno2 provisioning <provisioning@localhost>")
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Organizations and their provisioning tokens (organizations app) ---
# How long a new token lives unless staff choose otherwise, and how long
# the old token keeps working after a rotation so the customer has time to paste the new one.
TOKEN_DEFAULT_EXPIRY_DAYS = env_int("TOKEN_DEFAULT_EXPIRY_DAYS", 365)
TOKEN_ROTATION_GRACE_DAYS = env_int("TOKEN_ROTATION_GRACE_DAYS", 7)
# last_used_at is written at most this often per token, so verification is not a write per request.
TOKEN_LAST_USED_RESOLUTION_SECONDS = env_int("TOKEN_LAST_USED_RESOLUTION_SECONDS", 300)

# --- OAuth 2.0 client credentials and workload identity federation (oauth app) ---
# Entra's gallery rules: access tokens live 1 to 6 hours, client secrets 1 to 3 years.
OAUTH_ACCESS_TOKEN_LIFETIME_SECONDS = env_int("OAUTH_ACCESS_TOKEN_LIFETIME_SECONDS", 3600)
if not 3600 <= OAUTH_ACCESS_TOKEN_LIFETIME_SECONDS <= 21600:
    raise ImproperlyConfigured(
        "OAUTH_ACCESS_TOKEN_LIFETIME_SECONDS must be 3600 to 21600 (1 to 6 hours), not "
        f"{OAUTH_ACCESS_TOKEN_LIFETIME_SECONDS}"
    )
OAUTH_CLIENT_SECRET_EXPIRY_DAYS = env_int("OAUTH_CLIENT_SECRET_EXPIRY_DAYS", 730)
if not 365 <= OAUTH_CLIENT_SECRET_EXPIRY_DAYS <= 1095:
    raise ImproperlyConfigured(
        "OAUTH_CLIENT_SECRET_EXPIRY_DAYS must be 365 to 1095 (1 to 3 years), not "
        f"{OAUTH_CLIENT_SECRET_EXPIRY_DAYS}"
    )
# Token requests per client id, and failed token requests per client address.
OAUTH_TOKEN_RATE_LIMIT = env_str("OAUTH_TOKEN_RATE_LIMIT", "60/10m")
OAUTH_TOKEN_FAILURE_RATE = env_str("OAUTH_TOKEN_FAILURE_RATE", "20/5m")
# Scheme and host of the Entra authority that workload identity issuers must name:
# https://login.microsoftonline.com, or a sovereign cloud's (login.microsoftonline.us, ...).
ENTRA_AUTHORITY_HOST = env_str("ENTRA_AUTHORITY_HOST", "https://login.microsoftonline.com").rstrip(
    "/"
)
# Scheme and host of the same tenants' v1 token issuer (https://sts.windows.net/<tenant>/):
# a v1 access token names its tenant here; its keys are the v2 discovery document's.
ENTRA_V1_ISSUER_HOST = env_str("ENTRA_V1_ISSUER_HOST", "https://sts.windows.net").rstrip("/")
# Clock skew allowed on an assertion's exp/nbf/iat, and how long signing keys are cached.
WORKLOAD_IDENTITY_CLOCK_SKEW_SECONDS = env_int("WORKLOAD_IDENTITY_CLOCK_SKEW_SECONDS", 60)
WORKLOAD_IDENTITY_JWKS_CACHE_SECONDS = env_int("WORKLOAD_IDENTITY_JWKS_CACHE_SECONDS", 3600)
# An unknown kid refetches the keys at most once per this many seconds.
WORKLOAD_IDENTITY_JWKS_REFRESH_COOLDOWN_SECONDS = env_int(
    "WORKLOAD_IDENTITY_JWKS_REFRESH_COOLDOWN_SECONDS", 30
)

# --- SCIM 2.0 service provider (scim app) ---
# SCIM rate limits (see scim/ratelimit.py), as "requests/period" with s, m, h or d periods.
SCIM_RATE_LIMIT = env_str("SCIM_RATE_LIMIT", "1000/10s")
SCIM_AUTH_FAILURE_RATE = env_str("SCIM_AUTH_FAILURE_RATE", "20/5m")
# SCIM requests of one organization running at once across every server (core.concurrency, in
# Redis: REDIS_URL); the rest wait up to SCIM_TENANT_QUEUE_SECONDS, then run anyway. 0: no limit.
# A waiting request holds its server thread, so this helps only with threaded workers
# (GUNICORN_THREADS well above it); with one thread per worker it would hold whole workers.
SCIM_TENANT_CONCURRENCY = env_int("SCIM_TENANT_CONCURRENCY", 0)
SCIM_TENANT_QUEUE_SECONDS = env_int("SCIM_TENANT_QUEUE_SECONDS", 10)
# Requests/s one organization may send while another organization is provisioning (core.pacing,
# in Redis); alone it runs at full speed. Over the pace a request waits (up to
# SCIM_TENANT_QUEUE_SECONDS), it is never refused. 0: no pacing. Entra expects at least 25.
SCIM_TENANT_PACE = env_int("SCIM_TENANT_PACE", 0)
# /metrics answers a request bearing METRICS_TOKEN, or one whose peer address (REMOTE_ADDR) is in
# METRICS_ALLOWED_ADDRESSES (addresses or networks); nobody else, loopback included.
METRICS_TOKEN = env_str("METRICS_TOKEN", "")
try:
    METRICS_ALLOWED_ADDRESSES = [
        str(ipaddress.ip_network(item, strict=False))
        for item in env_list("METRICS_ALLOWED_ADDRESSES", [])
    ]
except ValueError as exc:
    raise ImproperlyConfigured(f"METRICS_ALLOWED_ADDRESSES: {exc}") from exc
# bench/ only: X-Query-Count on every response and the bare "ceiling" view. Never in production.
BENCH_MODE = env_bool("BENCH_MODE", False)
if BENCH_MODE:
    MIDDLEWARE.insert(1, "scim.benchmarking.QueryCountMiddleware")
# django-scim2, served under each organization's tenant URL.
# Every hook points at the scim app; see scim/auth.py, scim/scoping.py and scim/adapters.py.
SCIM_MAX_PAGE_SIZE = env_int("SCIM_MAX_PAGE_SIZE", 100)
SCIM_SERVICE_PROVIDER = {
    "SCHEME": _public.scheme,
    "NETLOC": _public.netloc,
    "DOCUMENTATION_URI": env_str("SCIM_DOCUMENTATION_URI", "") or None,
    "AUTHENTICATION_SCHEMES": [
        {
            "type": "oauthbearertoken",
            "name": "OAuth Bearer Token",
            "description": "The provisioning token issued for the organization, or an "
            "access token from its OAuth token endpoint, sent as "
            "Authorization: Bearer <token>.",
            "specUri": "https://www.rfc-editor.org/rfc/rfc6750",
            "primary": True,
        },
    ],
    "WWW_AUTHENTICATE_HEADER": 'Bearer realm="kno2prov"',
    "EXPOSE_SCIM_EXCEPTIONS": False,
    "AUTH_CHECK_MIDDLEWARE": "scim.auth.BearerTokenAuthMiddleware",
    "USER_MODEL_GETTER": "scim.models.user_model",
    "GROUP_MODEL": "scim.models.ScimGroup",
    "USER_ADAPTER": "scim.adapters.ScimUserAdapter",
    "GROUP_ADAPTER": "scim.adapters.ScimGroupAdapter",
    "USER_FILTER_PARSER": "scim.filters.UserFilterQuery",
    "GROUP_FILTER_PARSER": "scim.filters.GroupFilterQuery",
    "SERVICE_PROVIDER_CONFIG_MODEL": "scim.adapters.ServiceProviderConfig",
    "BASE_LOCATION_GETTER": "scim.scoping.base_location",
    "GET_EXTRA_MODEL_FILTER_KWARGS_GETTER": "scim.scoping.extra_filter_kwargs_getter",
    "SCHEMAS_GETTER": "scim.schemas.all_schemas",
}

# --- Sync history and tenant admin portal (portal app) ---
# Events older than this many days are deleted by `manage.py prune_sync_history`.
SYNC_HISTORY_RETENTION_DAYS = env_int("SYNC_HISTORY_RETENTION_DAYS", 90)
# A SCIM request arriving this long after the previous one starts a new sync cycle. Azure AD
# runs a cycle about every 40 minutes, so the gap must stay well under that.
SYNC_CYCLE_IDLE_MINUTES = env_int("SYNC_CYCLE_IDLE_MINUTES", 20)
# gunicorn workers write each SCIM call's history behind its response, in batches, every this
# many milliseconds (portal.writebehind); 0 writes every call at once, inside its request.
# Other processes (tests, runserver, commands) always write at once. Each flush has a fixed
# cost (a health check, a transaction): half a second keeps it off the requests' CPU (README
# "Issue 21, seventeenth round") and is still sooner than a person reloads a history page.
SYNC_HISTORY_FLUSH_MS = env_int("SYNC_HISTORY_FLUSH_MS", 500)
# Health is judged on the cycles of this many recent hours.
HEALTH_WINDOW_HOURS = env_int("HEALTH_WINDOW_HOURS", 24)
# Warn well before Azure's quarantine rules (over 40 % failing, or over 40,000 failures once
# 5,000 have failed): at this failure percentage over at least HEALTH_MIN_EVENTS requests, or at
# this many failures.
HEALTH_WARN_FAILURE_PERCENT = env_int("HEALTH_WARN_FAILURE_PERCENT", 20)
HEALTH_MIN_EVENTS = env_int("HEALTH_MIN_EVENTS", 20)
HEALTH_WARN_FAILURES = env_int("HEALTH_WARN_FAILURES", 2500)
# Provisioning enabled and no request from Azure for this long is a warning: Azure runs a cycle
# about every 40 minutes, so two missed cycles usually mean the job was stopped or quarantined.
HEALTH_SILENCE_MINUTES = env_int("HEALTH_SILENCE_MINUTES", 80)
# Token expiry warnings on the dashboard and in the admin.
TOKEN_EXPIRY_WARN_DAYS = env_int("TOKEN_EXPIRY_WARN_DAYS", 30)
TOKEN_EXPIRY_CRITICAL_DAYS = env_int("TOKEN_EXPIRY_CRITICAL_DAYS", 7)
# Alerts (manage.py send_alerts): Django's mail, to each organization's tenant admins and to
# this staff address (empty: tenant admins only).
ALERT_STAFF_EMAIL = env_str("ALERT_STAFF_EMAIL", "")
# Rows per page of the portal's event list and of the history API.
PORTAL_PAGE_SIZE = env_int("PORTAL_PAGE_SIZE", 50)
# A tenant admin's one-time set-password link (created by staff in the admin) works this long.
PORTAL_SET_PASSWORD_LINK_HOURS = env_int("PORTAL_SET_PASSWORD_LINK_HOURS", 72)
# An invitation to an organization's portal (manage.py invite_tenant_admin, the admin, the
# portal's Members page) works once, this long.
PORTAL_INVITATION_HOURS = env_int("PORTAL_INVITATION_HOURS", 72)
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}

# --- Directory events, webhooks and the events API (directory app) ---
# Background tasks (webhook delivery) run by django-tasks' database backend: the queue is a
# table in the same database, so a SCIM write and its delivery task commit together.
TASKS = {
    "default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default", "webhooks"]},
}
# Fernet keys (comma-separated, from `Fernet.generate_key()`) encrypting webhook signing
# secrets at rest. The first encrypts, all decrypt. Empty: derived from SECRET_KEY (development
# only; the deploy check refuses it).
WEBHOOK_SECRET_KEYS = env_list("WEBHOOK_SECRET_KEYS", [])
# Waits in seconds after the 1st, 2nd, ... failed attempt; the last repeats until the endpoint
# recovers or is disabled. Each wait is multiplied by a random factor between 0.5 and 1.
_RETRY_DEFAULT = ["5", "30", "120", "600", "1800", "3600"]
try:
    WEBHOOK_RETRY_SECONDS = [int(s) for s in env_list("WEBHOOK_RETRY_SECONDS", _RETRY_DEFAULT)]
except ValueError as exc:
    raise ImproperlyConfigured("WEBHOOK_RETRY_SECONDS must be whole seconds, e.g. 5,30") from exc
if not WEBHOOK_RETRY_SECONDS or min(WEBHOOK_RETRY_SECONDS) < 0:
    raise ImproperlyConfigured("WEBHOOK_RETRY_SECONDS must list waits in seconds, e.g. 5,30,120")
# Seconds to connect and to wait for each read of a receiver's answer.
WEBHOOK_TIMEOUT_SECONDS = env_int("WEBHOOK_TIMEOUT_SECONDS", 10)
# How long a worker holds a stream per attempt; a killed worker's streams resume after it.
WEBHOOK_LEASE_SECONDS = env_int("WEBHOOK_LEASE_SECONDS", 2 * WEBHOOK_TIMEOUT_SECONDS + 30)
if WEBHOOK_LEASE_SECONDS <= WEBHOOK_TIMEOUT_SECONDS:
    raise ImproperlyConfigured("WEBHOOK_LEASE_SECONDS must be longer than WEBHOOK_TIMEOUT_SECONDS")
# An endpoint failing without a success for this long is disabled and staff are emailed.
WEBHOOK_DISABLE_AFTER_HOURS = env_int("WEBHOOK_DISABLE_AFTER_HOURS", 72)
# Who is emailed when an endpoint is disabled; empty: Django's ADMINS.
WEBHOOK_ALERT_EMAILS = env_list("WEBHOOK_ALERT_EMAILS", [])
# After a secret rotation, the old secret keeps signing (a second signature) this long.
WEBHOOK_SECRET_OVERLAP_HOURS = env_int("WEBHOOK_SECRET_OVERLAP_HOURS", 24)
# Delivered events older than this are deleted by `manage.py prune_directory_events`.
DIRECTORY_EVENT_RETENTION_DAYS = env_int("DIRECTORY_EVENT_RETENTION_DAYS", 30)
# Events per page of the events API (a client may ask for fewer or up to 10x more).
DIRECTORY_API_PAGE_SIZE = env_int("DIRECTORY_API_PAGE_SIZE", 100)
SPECTACULAR_SETTINGS = {
    "TITLE": "Kno2 provisioning: directory events API",
    "DESCRIPTION": "Directory changes (users, groups, memberships) in order, per organization.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/directory/v1",
}

# --- SAML single sign-on to the portal (sso app) ---
# The portal's login form, from the app above it: refuses the password of an SSO-only organization.
PORTAL_AUTHENTICATION_FORM = "sso.forms.PortalAuthenticationForm"
# Whether an organization signs in through SSO only (portal invitations then send the invited
# person through single sign-on instead of asking for a password): a callable taking an
# Organization, from the app above the portal.
PORTAL_SSO_ONLY_CHECK = "sso.services.organization_is_sso_only"
# pysaml2 checks XML signatures with Debian's xmlsec1 binary.
SSO_XMLSEC_BINARY = env_str("SSO_XMLSEC_BINARY", shutil.which("xmlsec1") or "/usr/bin/xmlsec1")
# Slack allowed on NotBefore / NotOnOrAfter for clocks that disagree a little.
SSO_CLOCK_SKEW_SECONDS = env_int("SSO_CLOCK_SKEW_SECONDS", 120)
# An SSO portal session ends this long after sign-in, however active it is.
SSO_SESSION_MAX_AGE_SECONDS = env_int("SSO_SESSION_MAX_AGE_SECONDS", 8 * 3600)
# How long a browser has to come back from the IdP with the answer to our AuthnRequest.
SSO_REQUEST_MAX_AGE_SECONDS = env_int("SSO_REQUEST_MAX_AGE_SECONDS", 600)
SSO_METADATA_TIMEOUT_SECONDS = env_int("SSO_METADATA_TIMEOUT_SECONDS", 10)
SSO_METADATA_MAX_BYTES = env_int("SSO_METADATA_MAX_BYTES", 1_048_576)
# A SAMLResponse (its base64 form) longer than this is refused (413) before it is decoded:
# Entra's are about 10 KB.
SSO_MAX_RESPONSE_BYTES = env_int("SSO_MAX_RESPONSE_BYTES", 256 * 1024)
# Posts to an organization's ACS per client address before any is parsed; past it, 429.
SSO_ACS_RATE = env_str("SSO_ACS_RATE", "30/5m")
# Sign-in attempts older than this are deleted by `manage.py prune_sign_in_attempts`.
SSO_SIGN_IN_RETENTION_DAYS = env_int("SSO_SIGN_IN_RETENTION_DAYS", 90)
# Organizations a password session never sees (SSO only): the portal asks the app above it.
PORTAL_PASSWORD_CLOSED_ORGANIZATIONS = "sso.services.organizations_closed_to_passwords"  # noqa: S105

# --- A second factor for every staff account in the admin (staffauth app) ---
# Off only for local experiments: `check --deploy` refuses it off.
STAFF_MFA_REQUIRED = env_bool("STAFF_MFA_REQUIRED", True)
# A staff session ends this long after sign-in, however active it is (core.staffsession).
STAFF_SESSION_MAX_AGE_SECONDS = env_int("STAFF_SESSION_MAX_AGE_SECONDS", 12 * 3600)
# Issuing or revealing a credential in the admin asks for the second factor again once the last
# verification is older than this.
STAFF_REVERIFY_SECONDS = env_int("STAFF_REVERIFY_SECONDS", 15 * 60)
OTP_TOTP_ISSUER = env_str("OTP_TOTP_ISSUER", "Kno2 provisioning")
# Passkeys are bound to the host of PUBLIC_BASE_URL (an IP address cannot hold them).
OTP_WEBAUTHN_RP_ID = _public.hostname or "localhost"
OTP_WEBAUTHN_RP_NAME = "Kno2 provisioning"
OTP_WEBAUTHN_ALLOWED_ORIGINS = [f"{_public.scheme}://{_public.netloc}"]
