"""History API keys: ``k2h_<key>_<secret><checksum>``.

The same construction as provisioning tokens (``core.tokens``), with a prefix of its
own so a leaked key is recognisable and can never be mistaken for a provisioning token.
"""

from __future__ import annotations

from django.conf import settings

from core import tokens

from .models import HistoryApiKey

PREFIX = HistoryApiKey.secret_prefix


def build_key(key: str) -> str:
    """A fresh API key for ``key``: the plaintext shown to staff exactly once."""
    return tokens.build_token(key, PREFIX)


def hash_key(plaintext: str) -> str:
    return tokens.hash_token(plaintext, settings.TOKEN_PEPPER)
