"""Organizations that Azure AD provisions into, their tokens and the staff audit log."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Self

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from . import tokens
from .issuers import IssuerFormat, issuer_url


class Organization(models.Model):
    """A Kno2 organization whose users and groups Azure AD provisions.

    ``public_id`` is the opaque identifier in the tenant URL. It never changes, so renaming the
    organization or its slug never breaks an Azure provisioning job already configured.
    """

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)

    sso_tenant_id = models.UUIDField(
        "Entra tenant ID",
        null=True,
        blank=True,
        help_text="Read from the SSO issuer; the directory that signs users in.",
    )
    sso_issuer_format = models.CharField(
        max_length=2, choices=IssuerFormat.choices, default=IssuerFormat.SAML_V1
    )

    provisioning_enabled = models.BooleanField(default=False)
    provisioning_enabled_at = models.DateTimeField(null=True, blank=True)
    provisioning_enabled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            # The tutorial's rule, held by the database for every path that writes a row:
            # provisioning is only for organizations that sign in through Entra ID.
            models.CheckConstraint(
                condition=Q(provisioning_enabled=False) | Q(sso_tenant_id__isnull=False),
                name="provisioning_requires_sso_issuer",
                violation_error_message=(
                    "Provisioning can only be enabled once the organization's SSO issuer is set."
                ),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def sso_issuer(self) -> str:
        """The exact issuer string Entra ID puts in this organization's tokens, or ``""``."""
        if self.sso_tenant_id is None:
            return ""
        return issuer_url(self.sso_tenant_id, self.sso_issuer_format)

    @property
    def scim_base_url(self) -> str:
        """The tenant URL the customer pastes into Azure AD."""
        return f"{settings.PUBLIC_BASE_URL}/scim/v2/{self.public_id}"


class ProvisioningTokenQuerySet(models.QuerySet):
    def active(self, now: datetime | None = None) -> ProvisioningTokenQuerySet:
        now = now or timezone.now()
        return self.filter(revoked_at__isnull=True).filter(
            Q(expires_at__isnull=True) | Q(expires_at__gt=now)
        )

    def for_key(self, key: str) -> ProvisioningTokenQuerySet:
        return self.filter(key=key)

    def with_replacement(self, now: datetime | None = None) -> ProvisioningTokenQuerySet:
        """Annotate ``replaced``: a newer token of the same organization is active, so this one
        only lasts until its (rotation grace) expiry."""
        now = now or timezone.now()
        newer = ProvisioningToken.objects.active(now).filter(
            organization=models.OuterRef("organization"),
            created_at__gt=models.OuterRef("created_at"),
        )
        return self.annotate(replaced=models.Exists(newer))


# Compared against on a miss, so an unknown key costs the same HMAC as a known one.
_NO_DIGEST = "0" * 64


class HashedSecret(models.Model):
    """A secret built by ``organizations.tokens``, of which only a keyed hash is stored.

    ``key`` is the non-secret part of the plaintext that finds the row; ``digest`` is
    ``hmac_sha256(TOKEN_PEPPER, plaintext)``. The plaintext is shown once, when it is issued.
    Provisioning tokens and the portal's history API keys are both kinds of it; ``verify`` is
    the one way any of them is checked.
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

    class Meta:
        abstract = True

    @classmethod
    def verify(
        cls,
        candidates: models.QuerySet,
        presented: str,
        *,
        prefix: str,
        now: datetime | None = None,
    ) -> Self | None:
        """The row of ``candidates`` that ``presented`` is, or ``None``.

        ``candidates`` narrows the rows a secret may be (active ones, of one organization...);
        the presented key finds at most one of them with one indexed query. The digest
        comparison is constant-time and runs on a miss too, against a dummy digest, so timing
        does not say whether the key exists. A hit records its use (``touch``).
        """
        if not isinstance(presented, str):
            return None
        parsed = tokens.parse_token(presented, prefix)
        if parsed is None:
            return None
        row = candidates.filter(key=parsed.key).first()
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


class ProvisioningToken(HashedSecret):
    """A bearer token Azure AD presents to an organization's tenant URL."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="tokens")
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    objects = ProvisioningTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"k2p_{self.key}…"

    @property
    def display_prefix(self) -> str:
        return f"k2p_{self.key}…"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    def is_expired(self, now: datetime | None = None) -> bool:
        return self.expires_at is not None and self.expires_at <= (now or timezone.now())

    @property
    def is_active(self) -> bool:
        return not self.is_revoked and not self.is_expired()

    @property
    def status(self) -> str:
        """``revoked``, ``expired``, ``replaced`` (only with ``with_replacement()``) or
        ``active``."""
        if self.is_revoked:
            return "revoked"
        if self.is_expired():
            return "expired"
        if getattr(self, "replaced", False):
            return "replaced"
        return "active"

    @property
    def status_text(self) -> str:
        """The status as staff read it: "replaced — works until 2026-03-09 10:00 UTC"."""
        status = self.status
        if status == "revoked":
            return f"revoked {self.revoked_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
        if status == "expired":
            return f"expired {self.expires_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
        if status == "replaced":
            if self.expires_at is None:
                return "replaced — works until revoked"
            return f"replaced — works until {self.expires_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
        return "active"

    def expires_within(self, delta: timedelta, now: datetime | None = None) -> bool:
        now = now or timezone.now()
        return self.expires_at is not None and self.expires_at <= now + delta


class AuditRecord(models.Model):
    """One staff action on an organization: who did what, when. Written by ``services``."""

    class Action(models.TextChoices):
        ORGANIZATION_CREATED = "organization_created", "Organization created"
        ORGANIZATION_UPDATED = "organization_updated", "Organization updated"
        ISSUER_SET = "issuer_set", "SSO issuer set"
        ISSUER_CLEARED = "issuer_cleared", "SSO issuer cleared"
        PROVISIONING_ENABLED = "provisioning_enabled", "Provisioning enabled"
        PROVISIONING_DISABLED = "provisioning_disabled", "Provisioning disabled"
        TOKEN_ISSUED = "token_issued", "Token issued"
        TOKEN_ROTATED = "token_rotated", "Token rotated"
        TOKEN_REVOKED = "token_revoked", "Token revoked"
        SET_PASSWORD_LINK_CREATED = "set_password_link_created", "Set-password link created"
        OAUTH_CLIENT_ISSUED = "oauth_client_issued", "OAuth client issued"
        CLIENT_SECRET_ROTATED = "client_secret_rotated", "OAuth client secret rotated"
        OAUTH_CLIENT_REVOKED = "oauth_client_revoked", "OAuth client revoked"
        WORKLOAD_IDENTITY_CONFIGURED = (
            "workload_identity_configured",
            "Workload identity federation configured",
        )

    organization = models.ForeignKey(
        Organization, null=True, on_delete=models.SET_NULL, related_name="audit_records"
    )
    organization_name = models.CharField(
        max_length=200, help_text="Kept so the record reads the same after a rename or delete."
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    actor_name = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=40, choices=Action.choices)
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["organization", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.get_action_display()} — {self.organization_name}"


# OAuth clients, secrets and access tokens live in their own module; importing them here
# registers them with the app.
from .oauth_models import (  # noqa: E402, F401
    OAuthAccessToken,
    OAuthClient,
    OAuthClientSecret,
    UsedAssertion,
)
