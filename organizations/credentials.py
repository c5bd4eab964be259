"""Which credential authenticated a SCIM request: the one contract the SCIM layer calls.

Provisional copy of the architecture contract (``AuthenticatedCredential``,
``authenticate_bearer``) so OAuth access tokens work end to end before it lands on main.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import models

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
