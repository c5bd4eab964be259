"""The credentials a SCIM client can present, and the one place that checks them.

Every kind of credential ends in the same typed answer, ``AuthenticatedCredential``: which
organization it belongs to, what kind it is and its public identifier (never a secret). The
SCIM layer calls ``authenticate_bearer`` once per request; history, rate limits and metrics
read the answer from the SCIM call record (``scim.calls``) and never look at the header again.

``bearer_token`` is the project's only parser of the ``Authorization`` header: the SCIM
endpoint, the history API, ``/metrics`` and the benchmark ceiling all read it through here.

Kinds are told apart by the presented token's prefix (``AUTHENTICATORS``): a Secret Token
starts with ``k2p_``. A new kind adds its prefix and a function to that table.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.db import models
from django.http import HttpRequest

from . import services, tokens
from .models import Organization, ProvisioningToken


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

    @property
    def label(self) -> str:
        """What staff called the credential when they issued it, if they named it."""
        return self.token.label if self.token is not None else ""


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


Authenticator = Callable[[uuid.UUID, str], AuthenticatedCredential | None]

# Presented-token prefix → the function that checks that kind. Each function gets the exact
# tenant id and the whole presented string, and answers a credential of that tenant or None.
AUTHENTICATORS: dict[str, Authenticator] = {
    tokens.PREFIX: _secret_token,
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
