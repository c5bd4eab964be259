"""Organizations that Azure AD provisions into, their tokens and the staff audit log."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from core import audit
from core.models import HashedSecret

from .identity import (
    MAX_ISSUER_LENGTH,
    RULES,
    IdentityProviderConnection,
    IdentityProviderKind,
    IdentityProviderRules,
)
from .issuers import IssuerFormat


class Organization(models.Model):
    """A Kno2 organization whose users and groups Azure AD provisions.

    ``public_id`` is the opaque identifier in the tenant URL. It never changes, so renaming the
    organization or its slug never breaks an Azure provisioning job already configured.
    """

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)

    # The identity-provider connection (``organizations.identity``): its kind, the issuer or
    # entity id it names itself by, and for Entra the tenant that issuer stands for.
    idp_kind = models.CharField(
        "identity provider",
        max_length=10,
        choices=IdentityProviderKind.choices,
        default=IdentityProviderKind.ENTRA,
        # Also a database default: rows written by code that predates the connection
        # (older migration states, a rolling deploy) are Entra connections, not errors.
        db_default=IdentityProviderKind.ENTRA,
    )
    sso_issuer = models.CharField(
        "SSO issuer / entity id",
        max_length=MAX_ISSUER_LENGTH,
        blank=True,
        default="",
        db_default="",
        help_text="How the identity provider names itself, as its kind's rules store it.",
    )
    sso_tenant_id = models.UUIDField(
        "Entra tenant ID",
        null=True,
        blank=True,
        help_text="Entra ID only: read from the SSO issuer; the directory that signs users in.",
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

    self_service_enabled = models.BooleanField(
        "customer self-service",
        default=True,
        db_default=True,  # rows written by code that predates the column keep it on
        help_text="Off: the customer's portal administrators cannot issue, rotate or revoke "
        "credentials themselves; only Kno2 staff can.",
    )

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            # The tutorial's rule, held by the database for every path that writes a row:
            # provisioning only once the organization's SSO identity provider is set, of any kind.
            models.CheckConstraint(
                condition=Q(provisioning_enabled=False) | ~Q(sso_issuer=""),
                name="provisioning_requires_identity_provider",
                violation_error_message=(
                    "Provisioning can only be enabled once the organization's SSO identity "
                    "provider is set."
                ),
            ),
            # An Entra issuer always names its tenant; no other kind has one.
            models.CheckConstraint(
                condition=(
                    Q(idp_kind=IdentityProviderKind.ENTRA, sso_issuer="", sso_tenant_id=None)
                    | (
                        Q(idp_kind=IdentityProviderKind.ENTRA, sso_tenant_id__isnull=False)
                        & ~Q(sso_issuer="")
                    )
                    | (~Q(idp_kind=IdentityProviderKind.ENTRA) & Q(sso_tenant_id=None))
                ),
                name="entra_issuer_names_its_tenant",
            ),
            models.CheckConstraint(
                condition=Q(idp_kind__in=IdentityProviderKind.values),
                name="identity_provider_kind_is_known",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def identity_provider(self) -> IdentityProviderRules:
        """The rules of this organization's identity-provider kind: its names, its parsing."""
        return RULES[self.idp_kind]

    @property
    def identity_provider_connection(self) -> IdentityProviderConnection:
        """The connection as one value (kind, issuer, Entra tenant)."""
        return IdentityProviderConnection(self.idp_kind, self.sso_issuer, self.sso_tenant_id)

    @property
    def is_entra(self) -> bool:
        """Whether the organization signs in through Microsoft Entra ID (a tenant is set)."""
        return self.idp_kind == IdentityProviderKind.ENTRA and self.sso_tenant_id is not None

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


TOKEN_PREFIX = "k2p_"  # noqa: S105 - a public prefix, the Secret Token kind's (credentials.py)


class ProvisioningToken(HashedSecret):
    """A bearer token Azure AD presents to an organization's tenant URL."""

    secret_prefix = TOKEN_PREFIX

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
        return self.display_prefix

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
    # Every action is registered in ``core.audit`` by the app that owns it.
    action = models.CharField(max_length=40, choices=audit.choices)
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["organization", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.get_action_display()} — {self.organization_name}"
