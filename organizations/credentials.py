"""Which credential authenticated a SCIM request: the one contract the SCIM layer calls.

Provisional copy of the architecture contract (``AuthenticatedCredential``,
``authenticate_bearer``) so OAuth access tokens work end to end before it lands on main.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import models
from django.db.models import Max, Q

from . import oauth, services
from .models import Organization, ProvisioningToken
from .oauth_models import ACCESS_TOKEN_PREFIX


class CredentialKind(models.TextChoices):
    SECRET_TOKEN = "secret_token", "Secret Token"
    OAUTH_CLIENT = "oauth_client", "OAuth 2.0 client credentials"
    WORKLOAD_IDENTITY = "workload_identity", "Workload identity federation"


@dataclass(frozen=True)
class AuthenticatedCredential:
    organization: Organization
    kind: CredentialKind
    public_id: str
    expires_at: datetime | None
    token: ProvisioningToken | None = None
    label: str = ""


@dataclass(frozen=True)
class ActiveCredential:
    """One credential that can still provision an organization, for health and warnings."""

    kind: CredentialKind
    public_id: str
    expires_at: datetime | None


def active_credentials(organization: Organization, now: datetime) -> list[ActiveCredential]:
    """Every active credential of ``organization``, of every kind, in two queries.

    A client-credentials client lasts as long as its longest-lived active secret; a workload
    identity federation does not expire.
    """
    found = [
        ActiveCredential(CredentialKind.SECRET_TOKEN, token.display_prefix, token.expires_at)
        for token in organization.tokens.active(now)
    ]
    clients = organization.oauth_clients.active().annotate(
        secret_expiry=Max("secrets__expires_at", filter=Q(
            secrets__revoked_at__isnull=True, secrets__expires_at__gt=now)),
    )
    for client in clients:
        if client.kind == CredentialKind.WORKLOAD_IDENTITY:
            found.append(ActiveCredential(CredentialKind.WORKLOAD_IDENTITY, client.client_id,
                                          None))
        elif client.secret_expiry is not None:
            found.append(ActiveCredential(CredentialKind.OAUTH_CLIENT, client.client_id,
                                          client.secret_expiry))
    return found


def authenticate_bearer(tenant_public_id: str, presented: str) -> AuthenticatedCredential | None:
    """The credential ``presented`` is at the tenant URL of ``tenant_public_id``, or ``None``."""
    if not isinstance(presented, str):
        return None
    if presented.startswith(ACCESS_TOKEN_PREFIX):
        access = oauth.authenticate_access_token(tenant_public_id, presented)
        if access is None:
            return None
        client = access.client
        return AuthenticatedCredential(
            organization=client.organization,
            kind=CredentialKind(client.kind),
            public_id=client.client_id,
            expires_at=access.expires_at,
            label=client.label,
        )
    token = services.authenticate_token(tenant_public_id, presented)
    if token is None:
        return None
    return AuthenticatedCredential(
        organization=token.organization,
        kind=CredentialKind.SECRET_TOKEN,
        public_id=token.display_prefix,
        expires_at=token.expires_at,
        token=token,
        label=token.label,
    )
