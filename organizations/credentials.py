"""The Secret Token kind: a provisioning token presented as the bearer (``core.credentials``)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from datetime import datetime

from core.credentials import ActiveCredential, AuthenticatedCredential, CredentialType

from . import services
from .models import TOKEN_PREFIX, ProvisioningToken


def authenticate(tenant: uuid.UUID, presented: str) -> AuthenticatedCredential | None:
    token = services.authenticate_token(str(tenant), presented)
    if token is None:
        return None
    return AuthenticatedCredential(
        organization=token.organization,
        kind=SECRET_TOKEN.kind,
        public_id=token.display_prefix,
        expires_at=token.expires_at,
        token=token,
    )


def active(
    organization_ids: Sequence[int], now: datetime
) -> Iterator[tuple[int, ActiveCredential]]:
    """Active tokens of the organizations, oldest first, in one query."""
    for token in (
        ProvisioningToken.objects.active(now)
        .filter(organization_id__in=organization_ids)
        .order_by("created_at", "pk")
    ):
        yield (
            token.organization_id,
            ActiveCredential(
                SECRET_TOKEN.kind,
                token.display_prefix,
                token.expires_at,
                label=token.label,
                created_at=token.created_at,
            ),
        )


SECRET_TOKEN = CredentialType(
    kind="secret_token",
    label="Secret Token",
    prefix=TOKEN_PREFIX,
    noun="provisioning token",
    short_noun="token",
    authenticate=authenticate,
    active=active,
)
