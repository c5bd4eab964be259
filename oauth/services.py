"""OAuth 2.0 credentials of an organization: issue, rotate, revoke, configure, authenticate.

Each operation that changes state is a transaction with an audit record, like the Secret Token
operations in ``services``; views, the admin and commands call these. Secrets (client secrets,
access tokens) are built by ``tokens`` with their own prefixes and stored as a peppered HMAC;
the plaintext is returned once.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from core import tokens
from core.fixedselect import FixedSelect
from organizations.identity import IdentityProviderConnection, IdentityProviderKind
from organizations.models import Organization
from organizations.services import Actor, ProvisioningError, _user, record_audit

from . import audit
from .credentials import OAUTH_CLIENT, WORKLOAD_IDENTITY
from .federation import check_issuer, forget_cached_keys
from .models import (
    ACCESS_TOKEN_PREFIX,
    CLIENT_ID_PREFIX,
    SECRET_PREFIX,
    OAuthAccessToken,
    OAuthClient,
    OAuthClientSecret,
)

logger = logging.getLogger(__name__)

MAX_ACTIVE_SECRETS = 2
MIN_SECRET_DAYS = 365
MAX_SECRET_DAYS = 1095


def token_endpoint_url(organization: Organization) -> str:
    """The OAuth token endpoint of ``organization``, pasted into Entra next to the tenant URL."""
    return f"{settings.PUBLIC_BASE_URL}/oauth/{organization.public_id}/token"


def _lock(organization: Organization) -> Organization:
    return Organization.objects.select_for_update().get(pk=organization.pk)


def _secret_expiry(expires_days: int | None) -> datetime:
    days = settings.OAUTH_CLIENT_SECRET_EXPIRY_DAYS if expires_days is None else expires_days
    if not MIN_SECRET_DAYS <= days <= MAX_SECRET_DAYS:
        raise ProvisioningError(
            f"A client secret must be valid for {MIN_SECRET_DAYS} to {MAX_SECRET_DAYS} days "
            "(one to three years, Entra's rule for gallery apps)."
        )
    return timezone.now() + timedelta(days=days)


@sensitive_variables("plaintext")
def _new_secret(
    client: OAuthClient, *, actor: Actor, expires_at: datetime
) -> tuple[OAuthClientSecret, str]:
    key = tokens.generate_key()
    plaintext = tokens.build_token(key, prefix=SECRET_PREFIX)
    secret = OAuthClientSecret.objects.create(
        client=client,
        key=key,
        digest=tokens.hash_token(plaintext, settings.TOKEN_PEPPER),
        label=client.label,
        created_by=_user(actor),
        expires_at=expires_at,
    )
    return secret, plaintext


def _new_client(
    organization: Organization, kind: str, *, actor: Actor, label: str, **fields: str
) -> OAuthClient:
    return OAuthClient.objects.create(
        organization=organization,
        kind=kind,
        client_id=CLIENT_ID_PREFIX + tokens.generate_key(),
        label=label,
        created_by=_user(actor),
        **fields,
    )


@sensitive_variables("plaintext")
@transaction.atomic
def issue_oauth_client(
    organization: Organization,
    *,
    actor: Actor,
    label: str = "",
    expires_days: int | None = None,
) -> tuple[OAuthClient, OAuthClientSecret, str]:
    """Create a client-credentials client with one secret; the secret's plaintext is returned
    now and never again."""
    organization = _lock(organization)
    expires_at = _secret_expiry(expires_days)
    client = _new_client(organization, OAUTH_CLIENT.kind, actor=actor, label=label)
    secret, plaintext = _new_secret(client, actor=actor, expires_at=expires_at)
    record_audit(
        organization,
        audit.OAUTH_CLIENT_ISSUED,
        actor=actor,
        client_id=client.client_id,
        secret=secret.display_prefix,
        label=label,
        expires_at=expires_at.isoformat(),
    )
    logger.info("oauth client issued org=%s client=%s", organization.pk, client.client_id)
    return client, secret, plaintext


@sensitive_variables("plaintext")
@transaction.atomic
def rotate_client_secret(
    client: OAuthClient,
    *,
    actor: Actor,
    expires_days: int | None = None,
    grace_days: int | None = None,
) -> tuple[OAuthClientSecret, str]:
    """Add a new secret and let the client's other secrets lapse after the grace period.

    Access tokens obtained with an old secret stop when that secret lapses, not later.
    At most ``MAX_ACTIVE_SECRETS`` are active: the new one and the one being replaced.
    """
    _lock(client.organization)
    client = OAuthClient.objects.select_for_update().get(pk=client.pk)
    if not client.is_active or client.kind != OAUTH_CLIENT.kind:
        raise ProvisioningError(f"{client} is not an active client-credentials client.")
    now = timezone.now()
    active = list(client.secrets.active(now).order_by("created_at"))
    grace = settings.TOKEN_ROTATION_GRACE_DAYS if grace_days is None else grace_days
    if not 0 <= grace <= 90:
        raise ProvisioningError("The grace period must be 0 to 90 days.")
    if len(active) >= MAX_ACTIVE_SECRETS:
        raise ProvisioningError(
            f"{client} already has {MAX_ACTIVE_SECRETS} active secrets; wait for the older one "
            "to lapse or revoke the client."
        )
    expires_at = _secret_expiry(expires_days)
    secret, plaintext = _new_secret(client, actor=actor, expires_at=expires_at)
    sunset = now + timedelta(days=grace)
    for old in active:
        if old.expires_at > sunset:
            old.expires_at = sunset
            old.save(update_fields=["expires_at"])
    record_audit(
        client.organization,
        audit.CLIENT_SECRET_ROTATED,
        actor=actor,
        client_id=client.client_id,
        secret=secret.display_prefix,
        old_secrets_expire_at=sunset.isoformat(),
        expires_at=expires_at.isoformat(),
    )
    logger.info("oauth client secret rotated client=%s", client.client_id)
    return secret, plaintext


@transaction.atomic
def revoke_oauth_client(client: OAuthClient, *, actor: Actor) -> OAuthClient:
    """Revoke a client of either kind: its secrets and access tokens stop at once."""
    client = OAuthClient.objects.select_for_update().get(pk=client.pk)
    if client.revoked_at is not None:
        return client
    client.revoked_at = timezone.now()
    client.revoked_by = _user(actor)
    client.save(update_fields=["revoked_at", "revoked_by"])
    record_audit(
        client.organization,
        audit.OAUTH_CLIENT_REVOKED,
        actor=actor,
        client_id=client.client_id,
        kind=client.kind,
    )
    logger.info("oauth client revoked org=%s client=%s", client.organization_id, client.client_id)
    return client


@transaction.atomic
def configure_workload_identity(
    organization: Organization,
    *,
    issuer: str,
    subject: str,
    audience: str,
    jwks_url: str = "",
    actor: Actor,
    label: str = "",
) -> OAuthClient:
    """Set the assertion an organization's Entra job authenticates with (RFC 7523 §2.2).

    The issuer must be the v2.0 issuer of the organization's own SSO tenant. Reconfiguring
    keeps the client id (already pasted into Entra) and revokes the access tokens issued under
    the previous settings.
    """
    organization = _lock(organization)
    if organization.sso_issuer and not organization.is_entra:
        raise ProvisioningError(
            f"{organization} signs in through {organization.identity_provider.name}, not "
            "Microsoft Entra ID. Workload identity federation trusts tokens of the "
            "organization's own Entra tenant only; give this organization's SCIM client an "
            "OAuth client (client id and secret) or a provisioning token instead."
        )
    try:
        issuer = check_issuer(issuer, organization.sso_tenant_id)
    except ValueError as exc:
        raise ProvisioningError(str(exc)) from exc
    subject, audience, jwks_url = subject.strip(), audience.strip(), jwks_url.strip()
    if not subject or not audience:
        raise ProvisioningError(
            "Enter the subject (the workload identity's object id) and the "
            "audience (the Application (client) ID)."
        )
    if jwks_url and not jwks_url.startswith(("https://", "http://")):
        raise ProvisioningError("The JWKS URL must be an http(s) URL.")
    fields = {"issuer": issuer, "subject": subject, "audience": audience, "jwks_url": jwks_url}
    client = (
        OAuthClient.objects.select_for_update()
        .active()
        .filter(organization=organization, kind=WORKLOAD_IDENTITY.kind)
        .first()
    )
    if client is None:
        client = _new_client(
            organization, WORKLOAD_IDENTITY.kind, actor=actor, label=label, **fields
        )
    else:
        for name, value in fields.items():
            setattr(client, name, value)
        if label:
            client.label = label
        client.save(update_fields=[*fields, "label"])
        client.access_tokens.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
    forget_cached_keys()
    record_audit(
        organization,
        audit.WORKLOAD_IDENTITY_CONFIGURED,
        actor=actor,
        client_id=client.client_id,
        **fields,
    )
    logger.info("workload identity configured org=%s client=%s", organization.pk, client.client_id)
    return client


def end_trust_of_previous_identity_provider(
    organization: Organization, current: IdentityProviderConnection, actor: Actor
) -> list[str]:
    """The organization's identity provider changed: revoke at once every workload identity
    federation whose issuer is not the new connection's Entra tenant (its access tokens stop
    with it). Receiver side of ``organizations.signals.identity_provider_changed``."""
    ended = []
    federations = OAuthClient.objects.select_for_update().filter(
        organization=organization, kind=WORKLOAD_IDENTITY.kind, revoked_at__isnull=True
    )
    for client in federations:
        if current.kind == IdentityProviderKind.ENTRA and current.tenant_id is not None:
            try:
                check_issuer(client.issuer, current.tenant_id)
                continue
            except ValueError:
                pass
        client.revoked_at = timezone.now()
        client.revoked_by = _user(actor)
        client.save(update_fields=["revoked_at", "revoked_by"])
        client.access_tokens.filter(revoked_at__isnull=True).update(revoked_at=client.revoked_at)
        record_audit(
            organization,
            audit.WORKLOAD_IDENTITY_REVOKED_IDP_CHANGED,
            actor=actor,
            client_id=client.client_id,
            issuer=client.issuer,
            current=current.issuer,
        )
        logger.warning(
            "workload identity revoked org=%s client=%s: identity provider changed",
            organization.pk,
            client.client_id,
        )
        ended.append(f"workload identity federation {client.client_id} ({client.issuer}) revoked")
    if ended:
        forget_cached_keys()
    return ended


def find_client(reference: str) -> OAuthClient | None:
    """The client staff mean by its client id."""
    return (
        OAuthClient.objects.select_related("organization")
        .filter(client_id=reference.strip())
        .first()
    )


# ---- The token endpoint's checks ----------------------------------------------------------


@dataclass(frozen=True)
class SecretCheck:
    """The outcome of checking a presented client secret: the row, or why it failed."""

    secret: OAuthClientSecret | None
    failure: str = ""
    # Whether the presented secret is really one of the client's (revoked or expired, or the
    # client revoked), so the reason may be told; a wrong secret learns nothing.
    genuine: bool = False


def _date(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


@sensitive_variables("presented", "parsed")
def check_client_secret(client: OAuthClient, presented: str) -> SecretCheck:
    """Whether ``presented`` is an active secret of an active ``client``, in one indexed query
    (``HashedSecret.verify``). Once the secret is proven, the reason it cannot be used (revoked,
    expired, the client revoked) may be told; before that, only that it is wrong."""
    secret = OAuthClientSecret.verify(client.secrets.all(), presented, prefix=SECRET_PREFIX)
    if secret is None:
        return SecretCheck(
            None,
            f"The client secret presented for {client} is wrong: paste the secret issued with "
            "this client id into Entra again.",
        )
    if client.revoked_at is not None:
        return SecretCheck(
            None,
            f"Client {client} was revoked on {_date(client.revoked_at)}; ask Kno2 for new "
            "credentials.",
            True,
        )
    if secret.revoked_at is not None:
        return SecretCheck(
            None,
            f"Client secret {secret} was revoked on {_date(secret.revoked_at)}; enter the "
            "current one.",
            True,
        )
    if secret.expires_at <= timezone.now():
        return SecretCheck(
            None,
            f"Client secret {secret} expired on {_date(secret.expires_at)}; ask Kno2 for a new "
            "secret and paste it into Entra.",
            True,
        )
    return SecretCheck(secret)


@sensitive_variables("plaintext")
@transaction.atomic
def issue_access_token(
    client: OAuthClient, *, client_secret: OAuthClientSecret | None
) -> tuple[OAuthAccessToken, str, int]:
    """A new access token for ``client``: ``(row, plaintext, lifetime in seconds)``."""
    lifetime = settings.OAUTH_ACCESS_TOKEN_LIFETIME_SECONDS
    now = timezone.now()
    key = tokens.generate_key()
    plaintext = tokens.build_token(key, prefix=ACCESS_TOKEN_PREFIX)
    row = OAuthAccessToken.objects.create(
        client=client,
        client_secret=client_secret,
        key=key,
        digest=tokens.hash_token(plaintext, settings.TOKEN_PEPPER),
        label=client.label,
        created_at=now,
        expires_at=now + timedelta(seconds=lifetime),
    )
    # Old tokens are dead weight: drop this client's expired ones as each new one is issued.
    client.access_tokens.filter(expires_at__lt=now - timedelta(days=1)).delete()
    # Conditional, like HashedSecret.touch: concurrent token requests do not queue on the
    # client's row lock.
    resolution = timedelta(seconds=settings.TOKEN_LAST_USED_RESOLUTION_SECONDS)
    if client.last_used_at is None or now - client.last_used_at >= resolution:
        stale = Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - resolution)
        OAuthClient.objects.filter(stale, pk=client.pk).update(last_used_at=now)
    logger.info("access token issued client=%s key=%s", client.client_id, key)
    return row, plaintext, lifetime


def usable_access_tokens(now: datetime) -> Q:
    """Access tokens that still work: not expired or revoked, client active, secret live."""
    return Q(
        revoked_at__isnull=True,
        expires_at__gt=now,
        client__revoked_at__isnull=True,
        client__organization__provisioning_enabled=True,
    ) & (
        Q(client_secret__isnull=True)
        | Q(client_secret__revoked_at__isnull=True, client_secret__expires_at__gt=now)
    )


# ``usable_access_tokens(now)`` of the organization at a tenant URL, for one key: the statement
# every SCIM request with an access token runs first, written once (``core.fixedselect``;
# tests/oauth/test_access_token_lookup.py holds it to that QuerySet).
_USABLE_ACCESS_TOKEN = FixedSelect(
    OAuthAccessToken,
    related=["client", "client__organization"],
    outer=["client_secret"],
    where="{key} = %s AND {revoked_at} IS NULL AND {expires_at} > %s "
    "AND {client__revoked_at} IS NULL AND {client__organization__provisioning_enabled} "
    "AND {client__organization__public_id} = %s "
    "AND ({client_secret} IS NULL "
    "OR ({client_secret__revoked_at} IS NULL AND {client_secret__expires_at} > %s))",
    params=["key", "expires_at", "client__organization__public_id", "client_secret__expires_at"],
)


def usable_access_token(public_id: uuid.UUID, key: str, now: datetime) -> OAuthAccessToken | None:
    """The access token with ``key`` usable at ``now`` at the organization at ``public_id``,
    its client and the client's organization loaded with it; else ``None``."""
    return _USABLE_ACCESS_TOKEN.one(key, now, public_id, now)


@sensitive_variables("presented", "parsed")
def authenticate_access_token(tenant_public_id: str, presented: str) -> OAuthAccessToken | None:
    """The live access token ``presented`` is, for the organization at ``tenant_public_id``.

    One indexed query joining the client, its organization and the secret that obtained the
    token (plus, at most every ``TOKEN_LAST_USED_RESOLUTION_SECONDS``, a ``last_used_at``
    update), so revoking the client, disabling provisioning or a secret lapsing after rotation
    refuses the token on its very next use. The query is written once rather than built on
    every request (``usable_access_token``).
    """
    try:
        public_id = uuid.UUID(str(tenant_public_id))
    except ValueError:
        return None
    now = timezone.now()
    return OAuthAccessToken.verify_with(
        lambda key: usable_access_token(public_id, key, now),
        presented,
        prefix=ACCESS_TOKEN_PREFIX,
        now=now,
    )
