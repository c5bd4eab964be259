"""The credentials a SCIM client can present, and the one place that checks them.

Every kind of credential ends in the same typed answer, ``AuthenticatedCredential``: which
organization it belongs to, what kind it is and its public identifier (never a secret). The
SCIM layer calls ``authenticate_bearer`` once per request; history, rate limits and metrics
read the answer from the SCIM call record (``scim.calls``) and never look at the header again.

``bearer_token`` is the project's only parser of the ``Authorization`` header: the SCIM
endpoint, the history API, ``/metrics`` and the benchmark ceiling all read it through here.

Kinds are told apart by the presented token's prefix (``AUTHENTICATORS``): a Secret Token
starts with ``k2p_``, an OAuth access token (either OAuth kind, ``organizations.oauth``) with
``k2a_``. A new kind adds its prefix and a function to that table.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.db import models
from django.db.models import Max, Q
from django.http import HttpRequest

from . import oauth, services, tokens
from .models import Organization, ProvisioningToken
from .oauth_models import ACCESS_TOKEN_PREFIX, OAuthClient


class CredentialKind(models.TextChoices):
    SECRET_TOKEN = "secret_token", "Secret Token"
    OAUTH_CLIENT = "oauth_client", "OAuth 2.0 client credentials"
    WORKLOAD_IDENTITY = "workload_identity", "Workload identity federation"


@dataclass(frozen=True)
class AuthenticatedCredential:
    """A credential that authenticated for ``organization``'s tenant URL."""

    organization: Organization
    kind: CredentialKind
    public_id: str  # "k2p_<key>…" prefix, or the OAuth client id; never a secret
    expires_at: datetime | None
    token: ProvisioningToken | None = None  # the row, for the Secret Token kind
    # What staff called an OAuth client when they issued it (a token's is on ``token``).
    client_label: str = ""

    @property
    def label(self) -> str:
        """What staff called the credential when they issued it, if they named it."""
        return self.token.label if self.token is not None else self.client_label


def bearer_token(request: HttpRequest) -> str | None:
    """The credentials of an ``Authorization: Bearer <token>`` header (RFC 6750 §2.1; the
    scheme is case-insensitive), or ``None`` for any other header or none."""
    scheme, _, credentials = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    credentials = credentials.strip()
    if scheme.lower() != "bearer" or not credentials:
        return None
    return credentials


def _secret_token(tenant: uuid.UUID, presented: str) -> AuthenticatedCredential | None:
    token = services.authenticate_token(str(tenant), presented)
    if token is None:
        return None
    return AuthenticatedCredential(
        organization=token.organization,
        kind=CredentialKind.SECRET_TOKEN,
        public_id=token.display_prefix,
        expires_at=token.expires_at,
        token=token,
    )


def _access_token(tenant: uuid.UUID, presented: str) -> AuthenticatedCredential | None:
    """An access token from the token endpoint: its client's kind, the client id as public id."""
    access = oauth.authenticate_access_token(str(tenant), presented)
    if access is None:
        return None
    client = access.client
    return AuthenticatedCredential(
        organization=client.organization,
        kind=CredentialKind(client.kind),
        public_id=client.client_id,
        expires_at=access.expires_at,
        client_label=client.label,
    )


Authenticator = Callable[[uuid.UUID, str], AuthenticatedCredential | None]

# Presented-token prefix → the function that checks that kind. Each function gets the exact
# tenant id and the whole presented string, and answers a credential of that tenant or None.
AUTHENTICATORS: dict[str, Authenticator] = {
    tokens.PREFIX: _secret_token,
    ACCESS_TOKEN_PREFIX: _access_token,
}


def exact_tenant_id(tenant_public_id: str) -> uuid.UUID | None:
    """The tenant id of ``tenant_public_id`` when it is written exactly as in the tenant URL
    (lower-case, hyphenated), else ``None``: a variant never names an organization."""
    try:
        tenant = uuid.UUID(tenant_public_id)
    except (ValueError, TypeError, AttributeError):
        return None
    return tenant if str(tenant) == tenant_public_id else None


def authenticate_bearer(tenant_public_id: str, presented: str) -> AuthenticatedCredential | None:
    """The credential ``presented`` is, if it is valid for the organization at
    ``tenant_public_id`` (its tenant URL's id, exactly), else ``None``.

    A credential works only at its own organization's tenant URL, only while it is active and
    provisioning is enabled there. Never raises for malformed input.
    """
    tenant = exact_tenant_id(tenant_public_id)
    if tenant is None or not isinstance(presented, str):
        return None
    for prefix, authenticator in AUTHENTICATORS.items():
        if presented.startswith(prefix):
            return authenticator(tenant, presented)
    return None


@dataclass(frozen=True)
class ActiveCredential:
    """One credential that can still provision an organization, for health and warnings."""

    kind: CredentialKind
    public_id: str
    expires_at: datetime | None
    label: str = ""
    created_at: datetime | None = None

    @property
    def noun(self) -> str:
        """What the customer calls it in Entra's Admin Credentials form."""
        return {
            CredentialKind.SECRET_TOKEN: "provisioning token",
            CredentialKind.OAUTH_CLIENT: "OAuth client secret",
            CredentialKind.WORKLOAD_IDENTITY: "workload identity federation",
        }[self.kind]

    @property
    def short_noun(self) -> str:
        return {
            CredentialKind.SECRET_TOKEN: "token",
            CredentialKind.OAUTH_CLIENT: "OAuth client",
            CredentialKind.WORKLOAD_IDENTITY: "workload identity federation",
        }[self.kind]


def active_credentials_by_organization(
    organization_ids: list[int], now: datetime
) -> dict[int, list[ActiveCredential]]:
    """Every active credential of each organization, of every kind, oldest first, in two
    queries however many organizations there are.

    A client-credentials client lasts as long as its longest-lived active secret; a workload
    identity federation does not expire.
    """
    found: dict[int, list[ActiveCredential]] = {pk: [] for pk in organization_ids}
    for token in (
        ProvisioningToken.objects.active(now)
        .filter(organization_id__in=organization_ids)
        .order_by("created_at", "pk")
    ):
        found[token.organization_id].append(
            ActiveCredential(
                CredentialKind.SECRET_TOKEN,
                token.display_prefix,
                token.expires_at,
                label=token.label,
                created_at=token.created_at,
            )
        )
    clients = (
        OAuthClient.objects.active()
        .filter(organization_id__in=organization_ids)
        .annotate(
            secret_expiry=Max(
                "secrets__expires_at",
                filter=Q(secrets__revoked_at__isnull=True, secrets__expires_at__gt=now),
            ),
        )
        .order_by("created_at", "pk")
    )
    for client in clients:
        if client.kind != CredentialKind.WORKLOAD_IDENTITY and client.secret_expiry is None:
            continue
        found[client.organization_id].append(
            ActiveCredential(
                CredentialKind(client.kind),
                client.client_id,
                client.secret_expiry if client.kind != CredentialKind.WORKLOAD_IDENTITY else None,
                label=client.label,
                created_at=client.created_at,
            )
        )
    return found


def active_credentials(organization: Organization, now: datetime) -> list[ActiveCredential]:
    """Every active credential of ``organization``, of every kind, in two queries."""
    return active_credentials_by_organization([organization.pk], now)[organization.pk]
