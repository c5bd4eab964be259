"""The hashed-secret model every kind of issued secret builds on.

Abstract only: core owns no table. Provisioning tokens, OAuth client secrets and access tokens,
history API keys, platform API keys and set-password links are each a concrete ``HashedSecret``
in their own app.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import ClassVar, Self

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from . import tokens

# Compared against on a miss, so an unknown key costs the same HMAC as a known one.
_NO_DIGEST = "0" * 64


class HashedSecret(models.Model):
    """A secret built by ``core.tokens``, of which only a keyed hash is stored.

    ``key`` is the non-secret part of the plaintext that finds the row; ``digest`` is
    ``hmac_sha256(TOKEN_PEPPER, plaintext)``. The plaintext is shown once, when it is issued.
    Provisioning tokens and the portal's history API keys are both kinds of it; ``verify`` is
    the one way any of them is checked. A subclass names its ``secret_prefix``.
    """

    key = models.CharField(max_length=12, unique=True, editable=False)
    digest = models.CharField(max_length=64, unique=True, editable=False)
    label = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    # The kind's public prefix ("k2p_"): what ``verify`` parses and ``display_prefix`` shows.
    secret_prefix: ClassVar[str] = ""

    class Meta:
        abstract = True

    @property
    def display_prefix(self) -> str:
        """How lists, history and the audit log name this secret: its prefix and key, never
        the secret part."""
        return tokens.display_prefix(self.secret_prefix, self.key)

    @classmethod
    def verify(
        cls,
        candidates: models.QuerySet,
        presented: str,
        *,
        prefix: str | None = None,
        now: datetime | None = None,
    ) -> Self | None:
        """The row of ``candidates`` that ``presented`` is, or ``None``.

        ``candidates`` narrows the rows a secret may be (active ones, of one organization...);
        the presented key finds at most one of them with one indexed query. The digest
        comparison is constant-time and runs on a miss too, against a dummy digest, so timing
        does not say whether the key exists. A hit records its use (``touch``).
        """
        return cls.verify_with(
            lambda key: candidates.filter(key=key).first(), presented, prefix=prefix, now=now
        )

    @classmethod
    def verify_with(
        cls,
        find: Callable[[str], Self | None],
        presented: str,
        *,
        prefix: str | None = None,
        now: datetime | None = None,
    ) -> Self | None:
        """``verify``, with the caller's own ``find`` for the row of a parsed key (``None``
        when there is none that may be used): for a hot path that writes its one statement
        itself rather than have the ORM build it on every call."""
        if not isinstance(presented, str):
            return None
        parsed = tokens.parse_token(presented, prefix or cls.secret_prefix)
        if parsed is None:
            return None
        row = find(parsed.key)
        digest = row.digest if row is not None else _NO_DIGEST
        if not tokens.digests_match(parsed.token, digest, settings.TOKEN_PEPPER) or row is None:
            return None
        row.touch(now or timezone.now())
        return row

    def touch(self, now: datetime) -> None:
        """Record use at most once per ``TOKEN_LAST_USED_RESOLUTION_SECONDS``, not per request.

        The condition is in the UPDATE itself, so concurrent requests write at most once too.
        """
        resolution = timedelta(seconds=settings.TOKEN_LAST_USED_RESOLUTION_SECONDS)
        if self.last_used_at is not None and now - self.last_used_at < resolution:
            return
        stale = Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - resolution)
        if type(self)._default_manager.filter(stale, pk=self.pk).update(last_used_at=now):
            self.last_used_at = now
