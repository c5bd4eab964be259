"""Carry a new token's plaintext from the request that issued it to the page that shows it once.

The admin issues a token on POST and redirects to a page that shows it, so reloading that page
never issues another token. The plaintext crosses the redirect in the session, which lives in the
database, where a token secret must never be. So the session holds it sealed: XORed with a pad
that is an HMAC-SHA512 (keyed by ``SECRET_KEY``) of a random nonce, the classic PRF stream
construction. A copy of the session table alone reveals nothing, and the entry is popped when the
page shows it, so a reload or the back button finds nothing to show.
"""

from __future__ import annotations

import secrets

from django.contrib.sessions.backends.base import SessionBase
from django.utils.crypto import salted_hmac
from django.views.decorators.debug import sensitive_variables

from .tokens import Plaintext

SESSION_KEY = "organizations.issued_tokens"
_SALT = "organizations.reveal.pad"
_PAD_BYTES = 64  # one SHA-512 output; a token is 55 ASCII characters


def _pad(nonce: bytes, length: int) -> bytes:
    if length > _PAD_BYTES:
        raise ValueError("value too long to seal with one pad")
    return salted_hmac(_SALT, nonce, algorithm="sha512").digest()[:length]


def _xor(data: bytes, pad: bytes) -> bytes:
    return bytes(a ^ b for a, b in zip(data, pad, strict=True))


@sensitive_variables("plaintext")
def stash(session: SessionBase, token_pk: int, plaintext: str) -> None:
    """Keep ``plaintext`` for exactly one later :func:`pop` of the same ``token_pk``."""
    data = plaintext.encode("ascii")
    nonce = secrets.token_bytes(16)
    sealed = _xor(data, _pad(nonce, len(data)))
    pending = dict(session.get(SESSION_KEY, {}))
    pending[str(token_pk)] = {"nonce": nonce.hex(), "sealed": sealed.hex()}
    session[SESSION_KEY] = pending


def pop(session: SessionBase, token_pk: int) -> Plaintext | None:
    """The plaintext stashed for ``token_pk``, removing it; ``None`` once it has been shown."""
    pending = dict(session.get(SESSION_KEY, {}))
    entry = pending.pop(str(token_pk), None)
    if entry is None:
        return None
    if pending:
        session[SESSION_KEY] = pending
    else:
        del session[SESSION_KEY]
    try:
        nonce = bytes.fromhex(entry["nonce"])
        sealed = bytes.fromhex(entry["sealed"])
        return Plaintext(_xor(sealed, _pad(nonce, len(sealed))).decode("ascii"))
    except (KeyError, TypeError, ValueError):
        return None
