"""OAuth 2.0 credentials of an organization: clients, their secrets, the access tokens issued.

Entra ID's current provisioning credentials (``docs/azure-scim-client.md`` §4.1) end in
an access token obtained from our token endpoint:

* **OAuth 2.0 client credentials** (RFC 6749 §4.4): Entra authenticates with a client id and a
  client secret; a client has at most two active secrets so it can be rotated without a gap.
* **Workload identity federation** (RFC 7523 §2.2): Entra authenticates with a JWT it signed
  for its workload identity; the client holds the expected ``iss``, ``sub`` and ``aud`` instead
  of a secret.

Access tokens are opaque and stored as a peppered HMAC like every other secret here, so each
SCIM request looks its token up, and revoking the client, disabling provisioning or a secret
lapsing after a rotation stops every token at once.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from core.models import HashedSecret
from organizations.models import Organization

CLIENT_ID_PREFIX = "k2c_"
SECRET_PREFIX = "k2o_"  # noqa: S105 - a public prefix, like k2p_
ACCESS_TOKEN_PREFIX = "k2a_"  # noqa: S105 - a public prefix


def client_kinds() -> list[tuple[str, str]]:
    """The two OAuth credential kinds, as registered (``oauth.credentials``)."""
    from .credentials import KINDS

    return [(kind.kind, kind.label) for kind in KINDS]


class OAuthClientQuerySet(models.QuerySet):
    def active(self) -> OAuthClientQuerySet:
        return self.filter(revoked_at__isnull=True)


class OAuthClient(models.Model):
    """An OAuth client through which one organization's Entra job gets access tokens.

    ``client_id`` is public (it is pasted into Entra and shown in history). A workload identity
    client also names the assertion it accepts: ``issuer`` (the Entra tenant, which must be the
    organization's SSO tenant), ``subject`` (the workload identity's object id), ``audience``
    and, optionally, ``jwks_url`` instead of the issuer's discovery document.
    """

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="oauth_clients"
    )
    kind = models.CharField(max_length=20, choices=client_kinds)
    client_id = models.CharField(max_length=40, unique=True, editable=False)
    label = models.CharField(max_length=100, blank=True)
    issuer = models.CharField(max_length=200, blank=True)
    subject = models.CharField(max_length=200, blank=True)
    audience = models.CharField(max_length=200, blank=True)
    jwks_url = models.URLField(
        "JWKS URL",
        max_length=300,
        blank=True,
        help_text="Only for sovereign clouds: the signing keys, instead of the issuer's "
        "OpenID discovery document.",
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    last_used_at = models.DateTimeField(null=True, blank=True)

    objects = OAuthClientQuerySet.as_manager()

    class Meta:
        db_table = "organizations_oauthclient"  # created there; moved without copying
        ordering = ["-created_at"]
        verbose_name = "OAuth client"
        constraints = [
            # One federation per organization: the token endpoint finds it without a client id.
            models.UniqueConstraint(
                fields=["organization"],
                condition=Q(kind="workload_identity", revoked_at__isnull=True),
                name="one_active_workload_identity_per_organization",
            ),
        ]

    def __str__(self) -> str:
        return self.client_id

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @property
    def status(self) -> str:
        return "active" if self.is_active else "revoked"


class ClientSecretQuerySet(models.QuerySet):
    def active(self, now: datetime | None = None) -> ClientSecretQuerySet:
        now = now or timezone.now()
        return self.filter(revoked_at__isnull=True, expires_at__gt=now)


class OAuthClientSecret(HashedSecret):
    """A client secret ``k2o_<key>_<secret><checksum>``; only its peppered HMAC is stored."""

    secret_prefix = SECRET_PREFIX

    client = models.ForeignKey(OAuthClient, on_delete=models.CASCADE, related_name="secrets")
    expires_at = models.DateTimeField()

    objects = ClientSecretQuerySet.as_manager()

    class Meta:
        db_table = "organizations_oauthclientsecret"
        ordering = ["-created_at"]
        verbose_name = "OAuth client secret"

    def __str__(self) -> str:
        return self.display_prefix

    def is_active(self, now: datetime | None = None) -> bool:
        return self.revoked_at is None and self.expires_at > (now or timezone.now())


class OAuthAccessToken(HashedSecret):
    """An access token the token endpoint issued, ``k2a_<key>_<secret><checksum>``.

    ``client_secret`` is the secret that obtained it (empty for workload identity): the token
    stops when that secret is revoked or lapses after a rotation, not only at its own expiry.
    """

    secret_prefix = ACCESS_TOKEN_PREFIX

    client = models.ForeignKey(OAuthClient, on_delete=models.CASCADE, related_name="access_tokens")
    client_secret = models.ForeignKey(
        OAuthClientSecret, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        db_table = "organizations_oauthaccesstoken"
        ordering = ["-created_at"]
        verbose_name = "OAuth access token"

    def __str__(self) -> str:
        return self.display_prefix


class UsedAssertion(models.Model):
    """A client assertion's ``jti`` already exchanged (RFC 7523 §3 item 7), kept until expiry.

    The unique constraint makes "use once" hold across every worker and server: the second
    insert of the same ``jti`` fails in the database, whichever process tries it.
    """

    client = models.ForeignKey(OAuthClient, on_delete=models.CASCADE, related_name="+")
    jti = models.CharField(max_length=200)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        db_table = "organizations_usedassertion"
        constraints = [
            models.UniqueConstraint(fields=["client", "jti"], name="assertion_used_once"),
        ]

    def __str__(self) -> str:
        return f"{self.client_id}: {self.jti}"
