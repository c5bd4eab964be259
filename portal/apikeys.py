"""Pure helpers for history API keys: ``k2h_<key>_<secret><checksum>``.

The same construction as provisioning tokens (``organizations.tokens``), with a prefix of its
own so a leaked key is recognisable and can never be mistaken for a provisioning token.
"""

from __future__ import annotations

import hmac
import re
import secrets

from django.conf import settings

from organizations import tokens

PREFIX = "k2h_"
_EXACT = re.compile(
    r"k2h_(?P<key>[0-9A-Za-z]{12})_(?P<secret>[0-9A-Za-z]{32})(?P<crc>[0-9A-Za-z]{6})"
)


def build_key(key: str) -> str:
    """A fresh API key for ``key``: the plaintext shown to staff exactly once."""
    secret = "".join(secrets.choice(tokens.ALPHABET) for _ in range(tokens.SECRET_LENGTH))
    body = f"{PREFIX}{key}_{secret}"
    return body + tokens.checksum(body)


def parse_key(presented: str) -> str | None:
    """The lookup part of a well-formed key with a valid checksum, else ``None``."""
    match = _EXACT.fullmatch(presented)
    if match is None:
        return None
    if not hmac.compare_digest(tokens.checksum(presented[: -tokens.CHECKSUM_LENGTH]),
                               match["crc"]):
        return None
    return match["key"]


def hash_key(plaintext: str) -> str:
    return tokens.hash_token(plaintext, settings.TOKEN_PEPPER)


def key_matches(plaintext: str, digest: str) -> bool:
    return tokens.digests_match(plaintext, digest, settings.TOKEN_PEPPER)
