"""The one registry of credential types, and the one place a presented bearer is checked.

Every kind of credential a SCIM client can present is one ``CredentialType`` that its app
registers in ``AppConfig.ready()``: its stored kind value and label, the prefix of the secret
it presents, what the customer calls it, the function that checks a presented secret and the
query of its active credentials. ``authenticate_bearer``, the health page, alerts and history
read every kind through here, so adding a kind is one ``register`` call plus its model and
authenticator.

Every kind ends in the same typed answer, ``AuthenticatedCredential``: which organization it
belongs to, what kind it is and its public identifier (never a secret).

``bearer_token`` is the project's only parser of the ``Authorization`` header.

Core imports no other app: organizations appear here as whatever model instance the
authenticator returns (typed as ``Any``), and active credentials are keyed by primary key.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.http import HttpRequest

from . import tokens


@dataclass(frozen=True)
class AuthenticatedCredential:
    """A credential that authenticated for ``organization``'s tenant URL."""

    organization: Any  # an ``organizations.Organization``; core does not import it
    kind: str  # a registered ``CredentialType.kind``, as stored in history
    public_id: str  # "k2p_<key>…" prefix, or the OAuth client id; never a secret
    expires_at: datetime | None
    token: Any = None  # the row, for kinds that present a ``HashedSecret`` directly
    # What staff called the credential when they issued it, when it is not on ``token``.
    client_label: str = ""

    @property
    def label(self) -> str:
        """What staff called the credential when they issued it, if they named it."""
        return self.token.label if self.token is not None else self.client_label

    @property
    def type(self) -> CredentialType:
        return get(self.kind)


@dataclass(frozen=True)
class ActiveCredential:
    """One credential that can still provision an organization, for health and warnings."""

    kind: str
    public_id: str
    expires_at: datetime | None
    label: str = ""
    created_at: datetime | None = None

    @property
    def type(self) -> CredentialType:
        return get(self.kind)

    @property
    def noun(self) -> str:
        """What the customer calls it in Entra's Admin Credentials form."""
        return self.type.noun

    @property
    def short_noun(self) -> str:
        return self.type.short_noun


# Checks a presented secret for the exact tenant id: a credential of that tenant, or None.
Authenticator = Callable[[uuid.UUID, str], AuthenticatedCredential | None]
# Every active credential of the given organizations at ``now``, as (organization pk, it).
ActiveQuery = Callable[[Sequence[int], datetime], Iterable[tuple[int, ActiveCredential]]]


@dataclass(frozen=True)
class CredentialType:
    """One kind of credential.

    ``kind`` is stored in history rows (``SyncEvent.credential_kind``): never change one.
    ``prefix`` is what the presented bearer starts with; kinds that present the same bearer
    (both OAuth kinds present a ``k2a_`` access token) share the prefix and the authenticator,
    which answers the right kind. Likewise kinds answered by one query share ``active``: each
    distinct authenticator and query runs once.
    """

    kind: str
    label: str
    prefix: str
    noun: str
    short_noun: str
    authenticate: Authenticator
    active: ActiveQuery

    def display_prefix(self, key: str) -> str:
        return tokens.display_prefix(self.prefix, key)


_TYPES: dict[str, CredentialType] = {}


def register(credential_type: CredentialType) -> CredentialType:
    """Add a kind; registering the same one again (a second ``ready()``) is harmless."""
    existing = _TYPES.get(credential_type.kind)
    if existing is not None and existing != credential_type:
        raise ValueError(f"credential kind {credential_type.kind!r} is already registered")
    _TYPES[credential_type.kind] = credential_type
    return credential_type


def unregister(kind: str) -> None:
    """Remove a kind (for tests that register one of their own)."""
    _TYPES.pop(kind, None)


def get(kind: str) -> CredentialType:
    """The registered type of ``kind``; ``KeyError`` for an unknown one."""
    return _TYPES[kind]


def types() -> list[CredentialType]:
    """Every registered kind, in registration order (``INSTALLED_APPS`` order)."""
    return list(_TYPES.values())


def kind_choices() -> list[tuple[str, str]]:
    """``(kind, label)`` of every registered kind, for model fields' ``choices``."""
    return [(t.kind, t.label) for t in _TYPES.values()]


def _distinct(functions: Iterable[Callable]) -> list[Callable]:
    seen: list[Callable] = []
    for function in functions:
        if function not in seen:
            seen.append(function)
    return seen


def bearer_token(request: HttpRequest) -> str | None:
    """The credentials of an ``Authorization: Bearer <token>`` header (RFC 6750 §2.1; the
    scheme is case-insensitive), or ``None`` for any other header or none."""
    scheme, _, credentials = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    credentials = credentials.strip()
    if scheme.lower() != "bearer" or not credentials:
        return None
    return credentials


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
    matching = [t.authenticate for t in _TYPES.values() if presented.startswith(t.prefix)]
    for authenticator in _distinct(matching):
        credential = authenticator(tenant, presented)
        if credential is not None:
            return credential
    return None


def active_credentials_by_organization(
    organization_ids: Sequence[int], now: datetime
) -> dict[int, list[ActiveCredential]]:
    """Every active credential of each organization, of every kind, oldest first within a
    kind, kinds in registration order: one query per distinct ``active`` query, however many
    organizations there are."""
    found: dict[int, list[ActiveCredential]] = {pk: [] for pk in organization_ids}
    for query in _distinct(t.active for t in _TYPES.values()):
        for organization_id, credential in query(organization_ids, now):
            found[organization_id].append(credential)
    return found


def active_credentials(organization: Any, now: datetime) -> list[ActiveCredential]:
    """Every active credential of ``organization``, of every kind."""
    return active_credentials_by_organization([organization.pk], now)[organization.pk]
