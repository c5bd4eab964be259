"""Deploy checks: refuse to call a deployment ready while it runs on the development secrets."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, Tags, register
from django.core.checks import Warning as CheckWarning
from django.core.exceptions import ImproperlyConfigured


def development_secrets() -> list[str]:
    """The settings that still hold their development value: serving with them would let
    anyone who read this repository forge sessions (``SECRET_KEY``) or tokens' digests
    (``TOKEN_PEPPER``)."""
    return [
        name
        for name, dev in (
            ("SECRET_KEY", settings.DEV_SECRET_KEY),
            ("TOKEN_PEPPER", settings.DEV_TOKEN_PEPPER),
        )
        if getattr(settings, name) == dev
    ]


def refuse_development_secrets() -> None:
    """Stop the server from starting with ``DEBUG`` off on a development secret.

    Called by ``kno2prov.wsgi``, so gunicorn (and any WSGI server) refuses to serve; tests and
    the quick start (``DEBUG=true``) never load it or are allowed to.
    """
    found = development_secrets()
    if found and not settings.DEBUG:
        raise ImproperlyConfigured(
            f"Refusing to start with DEBUG off: {' and '.join(found)} "
            f"{'has' if len(found) == 1 else 'have'} the development value. Set "
            f"{'it' if len(found) == 1 else 'them'} in the environment (see .env.example)."
        )


@register(Tags.security, deploy=True)
def check_secrets_are_not_dev_values(app_configs, **kwargs) -> list[Error]:
    errors = []
    if settings.SECRET_KEY == settings.DEV_SECRET_KEY:
        errors.append(
            Error(
                "SECRET_KEY is the development value.",
                id="kno2prov.E001",
                hint="Set SECRET_KEY in the environment.",
            )
        )
    if settings.TOKEN_PEPPER == settings.DEV_TOKEN_PEPPER:
        errors.append(
            Error(
                "TOKEN_PEPPER is the development value.",
                id="kno2prov.E002",
                hint="Set TOKEN_PEPPER in the environment; keep it stable.",
            )
        )
    if settings.TOKEN_PEPPER == settings.SECRET_KEY:
        errors.append(Error("TOKEN_PEPPER must differ from SECRET_KEY.", id="kno2prov.E003"))
    return errors


@register(Tags.caches, deploy=True)
def check_cache_is_shared(app_configs, **kwargs) -> list[CheckWarning]:
    if settings.REDIS_URL:
        return []
    return [
        CheckWarning(
            "REDIS_URL is not set: each worker keeps its own rate-limit counters.",
            hint="Point REDIS_URL at the Redis shared by every app server.",
            id="kno2prov.W001",
        )
    ]


@register(Tags.security, deploy=True)
def check_outbound_loopback_is_off(app_configs, **kwargs) -> list[Error]:
    """``OUTBOUND_ALLOW_LOOPBACK`` lets a configured URL reach this host's own services."""
    if not settings.OUTBOUND_ALLOW_LOOPBACK:
        return []
    return [
        Error(
            "OUTBOUND_ALLOW_LOOPBACK is on: metadata, JWKS and webhook URLs may reach loopback.",
            hint="Tests and local development only; unset it in production.",
            id="kno2prov.E040",
        )
    ]
