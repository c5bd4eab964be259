"""Pure helpers for every secret the project issues: generate, parse, hash and compare.

A secret reads ``<prefix><key>_<secret><checksum>``, e.g. a provisioning token ``k2p_…``:

* the prefix (four characters, ``k2?_``) names the kind, so secret scanners can recognise a
  leak; each kind registers its own (``core.credentials``);
* ``key`` (12 base62 characters) is stored in clear and finds the token row with one index lookup;
* ``secret`` (32 base62 characters, about 190 bits) is never stored;
* ``checksum`` (6 base62 characters) is a CRC32 of everything before it, so a scanner, or this
  service, can tell a real token from a random string without a database lookup.

Only base62 characters appear after the prefix, so a double-click selects the whole token, and
secret scanners can match ``\bk2p_[0-9A-Za-z]{12}_[0-9A-Za-z]{38}\b`` (README). The database
keeps ``hmac_sha256(TOKEN_PEPPER, token)``.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import string
import zlib
from dataclasses import dataclass

PREFIX_LENGTH = 4  # "k2p_", "k2a_"...: every prefix is "k2", one letter and "_"
KEY_LENGTH = 12
SECRET_LENGTH = 32
CHECKSUM_LENGTH = 6
ALPHABET = string.digits + string.ascii_uppercase + string.ascii_lowercase

# What follows the prefix, for every kind of secret built here.
_AFTER_PREFIX = re.compile(
    r"(?P<key>[0-9A-Za-z]{12})_(?P<secret>[0-9A-Za-z]{32})(?P<crc>[0-9A-Za-z]{6})"
)


class Plaintext(str):
    """A token's plaintext: a ``str`` whose ``repr`` hides the secret part.

    Tracebacks, Django's debug page (which shows every local variable while ``DEBUG`` is on,
    ignoring ``sensitive_variables``) and ``%r`` in logs print a variable with ``repr``, so they
    show only the non-secret prefix. ``str()``, templates and JSON still give the whole token.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return f"<token {self[: PREFIX_LENGTH + KEY_LENGTH]}… (secret hidden)>"


@dataclass(frozen=True)
class ParsedToken:
    key: str
    token: Plaintext


def _random_base62(length: int) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def _base62(number: int, width: int) -> str:
    digits = []
    for _ in range(width):
        number, remainder = divmod(number, 62)
        digits.append(ALPHABET[remainder])
    return "".join(reversed(digits))


def checksum(text: str) -> str:
    return _base62(zlib.crc32(text.encode("ascii")), CHECKSUM_LENGTH)


def generate_key() -> str:
    return _random_base62(KEY_LENGTH)


def build_token(key: str, prefix: str) -> str:
    """A fresh secret of the kind ``prefix`` names for ``key``: the plaintext, shown once."""
    body = f"{prefix}{key}_{_random_base62(SECRET_LENGTH)}"
    return Plaintext(body + checksum(body))


def display_prefix(prefix: str, key: str) -> str:
    """A secret as lists and history name it: ``k2p_<key>…``, never its secret part."""
    return f"{prefix}{key}…"


def parse_token(token: str, prefix: str) -> ParsedToken | None:
    """Split a presented token, or ``None`` when it is not well formed or its checksum is wrong."""
    if not token.startswith(prefix):
        return None
    match = _AFTER_PREFIX.fullmatch(token, len(prefix))
    if match is None:
        return None
    body = token[:-CHECKSUM_LENGTH]
    if not hmac.compare_digest(checksum(body), match["crc"]):
        return None
    return ParsedToken(key=match["key"], token=Plaintext(token))


def hash_token(token: str, pepper: str) -> str:
    """Keyed SHA-256 of the whole token. A fast HMAC suits high-entropy tokens; passwords differ."""
    return hmac.new(pepper.encode(), token.encode(), hashlib.sha256).hexdigest()


def digests_match(token: str, digest: str, pepper: str) -> bool:
    """Constant-time comparison of a presented token against a stored digest."""
    return hmac.compare_digest(hash_token(token, pepper), digest)


_REFERENCE = r"(?:{prefix})?(?P<key>[0-9A-Za-z]{{12}})(?:…|\.\.\.|_[0-9A-Za-z]*)?"


def key_from_reference(text: str, prefix: str) -> str | None:
    """The key staff mean by ``text``: a bare key, ``<prefix><key>…`` as listed, or a whole
    secret of that kind (e.g. ``k2p_`` for provisioning tokens).

    Lets staff revoke a leaked token by pasting it, without the secret part ever being looked up.
    """
    match = re.fullmatch(_REFERENCE.format(prefix=re.escape(prefix)), text.strip())
    return match["key"] if match else None
