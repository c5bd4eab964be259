"""The two OAuth credential kinds (``core.credentials``), registered in ``OAuthConfig.ready``.

Both present an access token from the token endpoint (``k2a_``), so they share the prefix, the
authenticator (which answers the client's own kind) and the query of active clients.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from datetime import datetime

from django.db.models import Max, Q

from core.credentials import ActiveCredential, AuthenticatedCredential, CredentialType

from .models import ACCESS_TOKEN_PREFIX, OAuthClient


def authenticate(tenant: uuid.UUID, presented: str) -> AuthenticatedCredential | None:
    """An access token from the token endpoint: its client's kind, the client id as public id."""
    from .services import authenticate_access_token

    access = authenticate_access_token(str(tenant), presented)
    if access is None:
        return None
    client = access.client
    return AuthenticatedCredential(
        organization=client.organization,
        kind=client.kind,
        public_id=client.client_id,
        expires_at=access.expires_at,
        client_label=client.label,
    )


def active(
    organization_ids: Sequence[int], now: datetime
) -> Iterator[tuple[int, ActiveCredential]]:
    """Active clients of the organizations, oldest first, in one query.

    A client-credentials client lasts as long as its longest-lived active secret; a workload
    identity federation does not expire.
    """
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
        federated = client.kind == WORKLOAD_IDENTITY.kind
        if not federated and client.secret_expiry is None:
            continue
        yield (
            client.organization_id,
            ActiveCredential(
                client.kind,
                client.client_id,
                None if federated else client.secret_expiry,
                label=client.label,
                created_at=client.created_at,
            ),
        )


OAUTH_CLIENT = CredentialType(
    kind="oauth_client",
    label="OAuth 2.0 client credentials",
    prefix=ACCESS_TOKEN_PREFIX,
    noun="OAuth client secret",
    short_noun="OAuth client",
    authenticate=authenticate,
    active=active,
)
WORKLOAD_IDENTITY = CredentialType(
    kind="workload_identity",
    label="Workload identity federation",
    prefix=ACCESS_TOKEN_PREFIX,
    noun="workload identity federation",
    short_noun="workload identity federation",
    authenticate=authenticate,
    active=active,
)
KINDS = (OAUTH_CLIENT, WORKLOAD_IDENTITY)
