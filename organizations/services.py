"""Every operation that changes an organization or its tokens, each leaving an audit record.

Views, the admin, management commands and the SCIM layer call these; they never reimplement
them. Actors are keyword-only; a function that issues a token returns its plaintext once.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from core import audit as core_audit
from core import tokens
from core.fixedselect import FixedSelect

from . import audit
from .identity import IdentityProviderConnection, IdentityProviderKind, rules_for
from .models import TOKEN_PREFIX, AuditRecord, Organization, ProvisioningToken
from .signals import identity_provider_changed

logger = logging.getLogger(__name__)

MAX_ACTIVE_TOKENS = 2
# Azure quarantines a job whose token expires, so long lifetimes are legitimate; ten years is
# the ceiling that still keeps every expiry a real date.
MAX_EXPIRY_DAYS = 3650

# Who performed an action: a staff user, a label for a non-user actor such as
# ``"manage.py issue_token (alice)"``, or ``None`` for the system itself.
Actor = AbstractBaseUser | str | None


class ProvisioningError(ValidationError):
    """A staff request that breaks a provisioning rule; its message is shown to staff as is."""


def _user(actor: Actor) -> AbstractBaseUser | None:
    """The saved user behind ``actor``, for foreign keys; ``None`` for labels and the system."""
    if isinstance(actor, AbstractBaseUser) and actor.pk is not None:
        return actor
    return None


def _actor_name(actor: Actor) -> str:
    if actor is None:
        return "system"
    if isinstance(actor, str):
        return actor[:150]
    return actor.get_username()


def record_audit(
    organization: Organization | None, action: str, *, actor: Actor, **detail: object
) -> AuditRecord:
    """Write who did ``action`` to ``organization`` (``None``: to no organization, e.g. for an
    account linked to none yet). ``detail`` must never hold a secret. ``action`` must be
    registered in ``core.audit`` (``UnknownAction`` otherwise), so every action the log holds
    has a label."""
    core_audit.get(action)
    return AuditRecord.objects.create(
        organization=organization,
        organization_name=organization.name if organization is not None else "(none)",
        actor=_user(actor),
        actor_name=_actor_name(actor),
        action=action,
        detail=detail,
    )


@transaction.atomic
def create_organization(
    *,
    name: str,
    slug: str,
    issuer: str = "",
    kind: str = IdentityProviderKind.ENTRA,
    enable_provisioning: bool = False,
    actor: Actor = None,
) -> Organization:
    """Create an organization, optionally with its identity provider (``kind`` and
    ``issuer``) and provisioning switched on."""
    rules_for(kind)
    organization = Organization(name=name, slug=slug, idp_kind=kind)
    organization.full_clean(exclude=["public_id"])
    organization.save()
    record_audit(organization, audit.ORGANIZATION_CREATED, actor=actor, name=name, slug=slug)
    if issuer:
        set_sso_issuer(organization, issuer, kind=kind, actor=actor)
    if enable_provisioning:
        enable_provisioning_for(organization, actor=actor)
    return organization


@transaction.atomic
def update_organization(
    organization: Organization, *, name: str, slug: str, actor: Actor
) -> Organization:
    """Rename an organization or change its slug. The tenant URL stays the same either way."""
    previous = Organization.objects.select_for_update().get(pk=organization.pk)
    organization.name = name
    organization.slug = slug
    changes = {
        field: [getattr(previous, field), getattr(organization, field)]
        for field in ("name", "slug")
        if getattr(previous, field) != getattr(organization, field)
    }
    if not changes:
        return organization
    organization.full_clean(exclude=["public_id"])
    organization.save(update_fields=["name", "slug", "updated_at"])
    record_audit(organization, audit.ORGANIZATION_UPDATED, actor=actor, **changes)
    return organization


@transaction.atomic
def set_sso_issuer(
    organization: Organization, issuer: str, *, actor: Actor, kind: str | None = None
) -> Organization:
    """Set the organization's identity-provider connection: ``kind`` (unchanged when ``None``)
    and its issuer, parsed by the kind's rules; raises ``ValidationError`` explaining a
    malformed value. An empty issuer clears the connection, refused while provisioning is on.

    A change ends the old identity provider's trust at once: ``identity_provider_changed`` is
    sent in this transaction, and ``sso`` and ``oauth`` disable what trusted the old one.
    """
    locked = Organization.objects.select_for_update().get(pk=organization.pk)
    previous = locked.identity_provider_connection
    rules = rules_for(kind or locked.idp_kind)
    issuer_format = locked.sso_issuer_format
    if not issuer.strip():
        if locked.provisioning_enabled:
            raise ProvisioningError(
                "Disable provisioning before clearing the SSO issuer: provisioning needs it."
            )
        current = IdentityProviderConnection(rules.kind, "", None)
    else:
        parsed = rules.parse(issuer)
        current = IdentityProviderConnection(rules.kind, parsed.issuer, parsed.tenant_id)
        issuer_format = parsed.issuer_format
    if (current, issuer_format) == (previous, locked.sso_issuer_format):
        return organization
    organization.idp_kind = current.kind
    organization.sso_issuer = current.issuer
    organization.sso_tenant_id = current.tenant_id
    organization.sso_issuer_format = issuer_format
    organization.save(
        update_fields=["idp_kind", "sso_issuer", "sso_tenant_id", "sso_issuer_format", "updated_at"]
    )
    ended: list[str] = []
    if previous.is_set and _trust_changed(previous, current):
        responses = identity_provider_changed.send(
            sender=Organization,
            organization=organization,
            previous=previous,
            current=current,
            actor=actor,
        )
        ended = [str(item) for _, answer in responses for item in (answer or [])]
    if current.is_set:
        record_audit(
            organization,
            audit.ISSUER_SET,
            actor=actor,
            kind=str(current.kind),
            issuer=current.issuer,
            previous_kind=str(previous.kind),
            previous=previous.issuer,
            trust_ended=ended,
        )
    elif previous.is_set:
        record_audit(
            organization,
            audit.ISSUER_CLEARED,
            actor=actor,
            previous=previous.issuer,
            trust_ended=ended,
        )
    return organization


def _trust_changed(
    previous: IdentityProviderConnection, current: IdentityProviderConnection
) -> bool:
    """Whether what the old connection trusted is no longer the organization's: another kind,
    another Entra tenant, or another issuer (an Entra issuer's format alone changes nothing)."""
    if previous.kind != current.kind:
        return True
    if previous.kind == IdentityProviderKind.ENTRA:
        return previous.tenant_id != current.tenant_id
    return previous.issuer != current.issuer


@transaction.atomic
def enable_provisioning_for(organization: Organization, *, actor: Actor) -> Organization:
    """Switch provisioning on; refused while the SSO identity provider is not set (the
    tutorial's step 2), whatever its kind."""
    if not organization.sso_issuer:
        raise ProvisioningError(
            f"Set the SSO issuer of {organization.name} before enabling provisioning: "
            "provisioning is for organizations that sign in through their identity provider."
        )
    if organization.provisioning_enabled:
        return organization
    organization.provisioning_enabled = True
    organization.provisioning_enabled_at = timezone.now()
    organization.provisioning_enabled_by = _user(actor)
    organization.save(
        update_fields=[
            "provisioning_enabled",
            "provisioning_enabled_at",
            "provisioning_enabled_by",
            "updated_at",
        ]
    )
    record_audit(organization, audit.PROVISIONING_ENABLED, actor=actor)
    logger.info("provisioning enabled org=%s", organization.pk)
    return organization


@transaction.atomic
def set_self_service(organization: Organization, enabled: bool, *, actor: Actor) -> Organization:
    """Let the customer's portal administrators manage credentials themselves, or not.

    Off, the portal refuses every credential action server-side; staff still can.
    """
    organization = Organization.objects.select_for_update().get(pk=organization.pk)
    if organization.self_service_enabled == enabled:
        return organization
    organization.self_service_enabled = enabled
    organization.save(update_fields=["self_service_enabled", "updated_at"])
    action = audit.SELF_SERVICE_ENABLED if enabled else audit.SELF_SERVICE_DISABLED
    record_audit(organization, action, actor=actor)
    return organization


@transaction.atomic
def disable_provisioning_for(organization: Organization, *, actor: Actor) -> Organization:
    """Switch provisioning off. Its tokens stop working at once; nothing is deleted."""
    if not organization.provisioning_enabled:
        return organization
    organization.provisioning_enabled = False
    organization.save(update_fields=["provisioning_enabled", "updated_at"])
    record_audit(organization, audit.PROVISIONING_DISABLED, actor=actor)
    logger.info("provisioning disabled org=%s", organization.pk)
    return organization


def _lock(organization: Organization) -> Organization:
    """Serialise token changes of one organization so the active-token limit holds under races."""
    return Organization.objects.select_for_update().get(pk=organization.pk)


@sensitive_variables("plaintext")
def _new_token(
    organization: Organization, *, actor: Actor, label: str, expires_at: datetime
) -> tuple[ProvisioningToken, str]:
    key = tokens.generate_key()
    plaintext = tokens.build_token(key, TOKEN_PREFIX)
    token = ProvisioningToken.objects.create(
        organization=organization,
        key=key,
        digest=tokens.hash_token(plaintext, settings.TOKEN_PEPPER),
        label=label,
        created_by=_user(actor),
        expires_at=expires_at,
    )
    return token, plaintext


def _expiry(expires_days: int | None) -> datetime:
    days = settings.TOKEN_DEFAULT_EXPIRY_DAYS if expires_days is None else expires_days
    if days < 1:
        raise ProvisioningError("A token must be valid for at least one day.")
    if days > MAX_EXPIRY_DAYS:
        raise ProvisioningError(f"A token can be valid for at most {MAX_EXPIRY_DAYS} days.")
    return timezone.now() + timedelta(days=days)


@sensitive_variables("plaintext")
@transaction.atomic
def issue_token(
    organization: Organization,
    *,
    actor: Actor,
    label: str = "",
    expires_days: int | None = None,
) -> tuple[ProvisioningToken, str]:
    """Issue a token for ``organization`` and return it with its plaintext, shown only now.

    At most ``MAX_ACTIVE_TOKENS`` may be active at once: two lets a customer rotate without an
    interruption, more would leave forgotten credentials behind.
    """
    organization = _lock(organization)
    expires_at = _expiry(expires_days)
    active = list(organization.tokens.active().order_by("created_at"))
    if len(active) >= MAX_ACTIVE_TOKENS:
        named = " and ".join(token.display_prefix for token in active)
        raise ProvisioningError(
            f"{organization.name} already has {MAX_ACTIVE_TOKENS} active tokens ({named}), the "
            "most allowed. Revoke the one Azure AD no longer uses (the organization's health "
            "shows which one it uses); then issue a new token, or rotate the one left, which "
            f"keeps it working for {settings.TOKEN_ROTATION_GRACE_DAYS} days while the customer "
            "pastes the new one."
        )
    token, plaintext = _new_token(organization, actor=actor, label=label, expires_at=expires_at)
    record_audit(
        organization,
        audit.TOKEN_ISSUED,
        actor=actor,
        token=token.display_prefix,
        label=label,
        expires_at=expires_at.isoformat(),
    )
    logger.info("token issued org=%s key=%s", organization.pk, token.key)
    return token, plaintext


@sensitive_variables("plaintext")
@transaction.atomic
def rotate_token(
    token: ProvisioningToken,
    *,
    actor: Actor,
    expires_days: int | None = None,
    grace_days: int | None = None,
) -> tuple[ProvisioningToken, str]:
    """Issue a replacement for ``token`` and let the old one lapse after a grace period.

    The old token keeps working for ``TOKEN_ROTATION_GRACE_DAYS`` (or ``grace_days``), long
    enough for the customer to paste the new one into Azure, so provisioning never stops.
    """
    organization = _lock(token.organization)
    token = ProvisioningToken.objects.select_for_update().get(pk=token.pk)
    if not token.is_active:
        raise ProvisioningError(f"{token} is {token.status}; only an active token can be rotated.")
    others = list(organization.tokens.active().exclude(pk=token.pk))
    if len(others) >= MAX_ACTIVE_TOKENS - 1:
        named = " and ".join(other.display_prefix for other in others)
        raise ProvisioningError(
            f"{organization.name} already has {MAX_ACTIVE_TOKENS} active tokens. Rotating "
            f"{token.display_prefix} needs room for its replacement: revoke {named} (the token "
            "you are not rotating) first, if Azure AD no longer uses it, then rotate."
        )
    grace = settings.TOKEN_ROTATION_GRACE_DAYS if grace_days is None else grace_days
    if not 0 <= grace <= MAX_EXPIRY_DAYS:
        raise ProvisioningError(f"The grace period must be 0 to {MAX_EXPIRY_DAYS} days.")
    expires_at = _expiry(expires_days)
    new_token, plaintext = _new_token(
        organization, actor=actor, label=token.label, expires_at=expires_at
    )
    sunset = timezone.now() + timedelta(days=grace)
    if token.expires_at is None or token.expires_at > sunset:
        token.expires_at = sunset
        token.save(update_fields=["expires_at"])
    record_audit(
        organization,
        audit.TOKEN_ROTATED,
        actor=actor,
        token=token.display_prefix,
        replacement=new_token.display_prefix,
        old_token_expires_at=token.expires_at.isoformat(),
    )
    logger.info("token rotated org=%s old=%s new=%s", organization.pk, token.key, new_token.key)
    return new_token, plaintext


@transaction.atomic
def revoke_token(token: ProvisioningToken, *, actor: Actor) -> ProvisioningToken:
    """Revoke ``token`` at once. Revoking an already revoked token changes nothing."""
    token = ProvisioningToken.objects.select_for_update().get(pk=token.pk)
    if token.revoked_at is not None:
        return token
    token.revoked_at = timezone.now()
    token.revoked_by = _user(actor)
    token.save(update_fields=["revoked_at", "revoked_by"])
    record_audit(
        token.organization,
        audit.TOKEN_REVOKED,
        actor=actor,
        token=token.display_prefix,
    )
    logger.info("token revoked org=%s key=%s", token.organization_id, token.key)
    return token


@transaction.atomic
def revoke_tokens(organization: Organization, *, actor: Actor) -> list[ProvisioningToken]:
    """Revoke every token of ``organization`` not yet revoked; returns the ones revoked now."""
    pending = organization.tokens.filter(revoked_at__isnull=True).order_by("created_at")
    return [revoke_token(token, actor=actor) for token in pending]


# ``ProvisioningToken.objects.active(now)`` of the organization at a tenant URL while provisioning
# is enabled there, for one key: the statement every SCIM request with a Secret Token runs first,
# written once (``core.fixedselect``; tests/organizations/test_token_lookup.py holds it to that
# QuerySet).
_ACTIVE_TOKEN = FixedSelect(
    ProvisioningToken,
    related=["organization"],
    where="{key} = %s AND {revoked_at} IS NULL AND ({expires_at} IS NULL OR {expires_at} > %s) "
    "AND {organization__public_id} = %s AND {organization__provisioning_enabled}",
    params=["key", "expires_at", "organization__public_id"],
)


def active_token(public_id: uuid.UUID, key: str, now: datetime) -> ProvisioningToken | None:
    """The token with ``key`` that is active at ``now``, of the organization at ``public_id``
    while provisioning is enabled there, its organization loaded with it; else ``None``."""
    return _ACTIVE_TOKEN.one(key, now, public_id)


def authenticate_token(public_id: str, presented: str) -> ProvisioningToken | None:
    """The active token of the organization at ``public_id`` that ``presented`` is, or ``None``.

    One indexed query, written once rather than built on every request (``active_token``). A
    token works only at its own organization's tenant URL, and only while provisioning is
    enabled there. The digest comparison is constant-time, and a malformed ``public_id`` or
    token is a plain ``None``, never an exception.
    """
    try:
        tenant = uuid.UUID(str(public_id))
    except ValueError:
        return None
    now = timezone.now()
    return ProvisioningToken.verify_with(
        lambda key: active_token(tenant, key, now),
        presented,
        prefix=TOKEN_PREFIX,
        now=now,
    )
