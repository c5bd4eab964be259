"""Show a new secret exactly once: from the request that made it to the page that shows it.

Every secret the project issues (provisioning tokens, OAuth client secrets, history API keys,
platform API keys, webhook signing secrets) is made on a POST that redirects to a page showing
it, so reloading that page never makes another. The plaintext crosses the redirect in the
session, which lives in the database, where a secret must never be in clear. So the session
holds it sealed: XORed with a pad expanded from a random nonce by HMAC-SHA512 keyed by
``SECRET_KEY`` (``salted_hmac``), block after block with a counter, so a secret of any length
seals. A copy of the session table alone reveals nothing, and the entry is popped when the
page shows it, so a reload or the back button finds nothing to show. Nothing goes through the
messages framework, whose cookie anyone who sees it can read.

Entries are keyed by a purpose (``"provisioning-token"``, ``"oauth-client-secret"``...) and the
id of the row the secret belongs to, so a page can only show the secret of the row it names.
"""

from __future__ import annotations

import secrets

from django.contrib.sessions.backends.base import SessionBase
from django.utils.crypto import salted_hmac
from django.views.decorators.debug import sensitive_variables

from .tokens import Plaintext

SESSION_KEY = "core.reveal"
_SALT = "core.reveal.pad"
_BLOCK = 64  # one SHA-512 output


def _pad(nonce: bytes, length: int) -> bytes:
    blocks = (length + _BLOCK - 1) // _BLOCK
    return b"".join(
        salted_hmac(_SALT, nonce + counter.to_bytes(4, "big"), algorithm="sha512").digest()
        for counter in range(blocks)
    )[:length]


def _xor(data: bytes, pad: bytes) -> bytes:
    return bytes(a ^ b for a, b in zip(data, pad, strict=True))


def _entry(purpose: str, pk: object) -> str:
    return f"{purpose}:{pk}"


@sensitive_variables("plaintext")
def stash(session: SessionBase, purpose: str, pk: object, plaintext: str) -> None:
    """Keep ``plaintext`` for exactly one later :func:`pop` of the same ``purpose`` and ``pk``."""
    data = plaintext.encode("utf-8")
    nonce = secrets.token_bytes(16)
    sealed = _xor(data, _pad(nonce, len(data)))
    pending = dict(session.get(SESSION_KEY, {}))
    pending[_entry(purpose, pk)] = {"nonce": nonce.hex(), "sealed": sealed.hex()}
    session[SESSION_KEY] = pending


def pop(session: SessionBase, purpose: str, pk: object) -> Plaintext | None:
    """The plaintext stashed for ``purpose`` and ``pk``, removing it; ``None`` once shown."""
    pending = dict(session.get(SESSION_KEY, {}))
    entry = pending.pop(_entry(purpose, pk), None)
    if entry is None:
        return None
    if pending:
        session[SESSION_KEY] = pending
    else:
        del session[SESSION_KEY]
    try:
        nonce = bytes.fromhex(entry["nonce"])
        sealed = bytes.fromhex(entry["sealed"])
        return Plaintext(_xor(sealed, _pad(nonce, len(sealed))).decode("utf-8"))
    except (KeyError, TypeError, ValueError):
        return None
