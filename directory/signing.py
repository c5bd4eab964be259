"""Webhook secrets and signatures (Standard Webhooks, with the ``standardwebhooks`` package).

A secret reads ``whsec_<base64 of 32 random bytes>``. Signing needs the secret itself, so it is
kept encrypted (Fernet, from ``cryptography``) with the keys in ``WEBHOOK_SECRET_KEYS``: the
first key encrypts, every key decrypts, so the encryption key can be rotated by putting a new
key first and running ``manage.py reencrypt_webhook_secrets``.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Iterable
from datetime import datetime

from cryptography.fernet import Fernet, MultiFernet
from django.conf import settings
from standardwebhooks.webhooks import Webhook

PREFIX = "whsec_"


class Secret(str):
    """A webhook secret's plaintext; ``repr`` (tracebacks, debug pages, ``%r``) hides it."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"<webhook secret {self[: len(PREFIX) + 4]}… (hidden)>"


def generate_secret() -> Secret:
    return Secret(PREFIX + base64.b64encode(secrets.token_bytes(32)).decode())


def hint(secret: str) -> str:
    return secret[: len(PREFIX) + 4]


def _fernet() -> MultiFernet:
    keys = list(settings.WEBHOOK_SECRET_KEYS)
    if not keys:
        # Development only (the deploy check refuses it): a key derived from SECRET_KEY.
        digest = hashlib.sha256(f"webhook-secrets:{settings.SECRET_KEY}".encode()).digest()
        keys = [base64.urlsafe_b64encode(digest).decode()]
    return MultiFernet([Fernet(key) for key in keys])


def encrypt(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


def decrypt(token: str) -> Secret:
    return Secret(_fernet().decrypt(token.encode()).decode())


def reencrypt(token: str) -> str:
    """``token`` encrypted with the first key, whichever key it was encrypted with."""
    return _fernet().rotate(token.encode()).decode()


def signature_header(
    secrets_: Iterable[str], message_id: str, timestamp: datetime, body: str
) -> str:
    """``v1,<base64>`` per secret, space-separated, as Standard Webhooks allows during a
    rotation; the receiver accepts the message when any of them verifies."""
    return " ".join(
        Webhook(secret).sign(msg_id=message_id, timestamp=timestamp, data=body)
        for secret in secrets_
    )
