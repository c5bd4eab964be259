"""Single sign-on rules: configuring an organization's IdP, signing in, and who stays signed in.

Views, the admin and the management commands call these. The SAML checks themselves are in
``sso.saml`` (pysaml2); this module decides what an accepted assertion is worth: a portal session
for a provisioned, active member of one of the organization's portal groups, and nothing else.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from core import outbound
from organizations.identity import IdentityProviderConnection, IdentityProviderKind
from organizations.issuers import parse_issuer
from organizations.models import Organization
from organizations.services import Actor, record_audit, set_sso_issuer
from portal import services as portal_services
from portal.models import SSO_USERNAME_PREFIX, PortalMembership, SyncEvent
from scim.calls import Operation
from scim.identity import identity_key, users_named
from scim.models import GroupMembership, ScimUser

from . import audit, saml
from .models import (
    Outcome,
    RefusalReason,
    SignInAttempt,
    SsoConfiguration,
    SsoPortalGroup,
    UnverifiedSignInCount,
    UsedAssertion,
)

logger = logging.getLogger(__name__)

# SCIM operations after which a person keeps no portal session.
PERSON_LEAVES = (Operation.DEACTIVATE_USER, Operation.DELETE_USER)
# Portal accounts made for SSO sign-ins are named after the provisioned user's SCIM id.


class SsoConfigurationError(ValidationError):
    """A configuration staff asked for that breaks an SSO rule; the message says which."""


def service_provider(organization: Organization) -> saml.ServiceProvider:
    """Our SP values for ``organization``, from ``PUBLIC_BASE_URL`` and its fixed public id."""
    base = f"{settings.PUBLIC_BASE_URL}/sso/{organization.public_id}"
    return saml.ServiceProvider(
        entity_id=base,
        acs_url=f"{base}/acs/",
        login_url=f"{base}/login/",
        metadata_url=f"{base}/metadata/",
    )


def fetch_metadata(url: str) -> str:
    """Download IdP metadata through the guarded outbound client (``core.outbound``): https,
    a public address checked at connect time, no redirects, one deadline, a size cap."""
    try:
        answer = outbound.fetch(
            "GET",
            url,
            headers={"User-Agent": "kno2prov-sso"},
            deadline_seconds=settings.SSO_METADATA_TIMEOUT_SECONDS,
            max_bytes=settings.SSO_METADATA_MAX_BYTES,
        )
    except outbound.OutboundRefused as exc:
        raise SsoConfigurationError(f"The metadata URL is not allowed: {exc}") from exc
    except outbound.OutboundTooLarge as exc:
        raise SsoConfigurationError("The metadata document is too large.") from exc
    except outbound.OutboundError as exc:
        raise SsoConfigurationError(f"The metadata URL could not be fetched ({exc}).") from exc
    if not answer.ok:
        reason = " (redirects are not followed)" if 300 <= answer.status < 400 else ""
        raise SsoConfigurationError(
            f"The metadata URL could not be fetched (HTTP {answer.status}{reason})."
        )
    return answer.body.decode("utf-8", errors="replace")


_OKTA_APP_ENTITY = re.compile(r"http://www\.okta\.com/[A-Za-z0-9]{8,40}")


def check_idp_matches_issuer(organization: Organization, idp: saml.IdpMetadata | str) -> bool:
    """Refuse an IdP that is not the organization's connection; return whether it is Entra.

    Trust comes from the connection's kind (``organization.idp_kind``), never from a host name:

    * Entra ID: the IdP entity id is ``https://sts.windows.net/<tenant>/`` and that tenant must be
      the organization's (either issuer format).
    * Okta: the app's entity id ``http://www.okta.com/<app id>`` is pinned: it must be the
      connection's issuer. When staff recorded the org's issuer (``https://<org>.okta.com``)
      instead, the metadata must be an Okta app's whose sign-on URL is on that org.
    * Any other SAML 2.0 IdP: its entity id must be the connection's, exactly.

    The metadata's certificates are then the only keys that verify a response, and metadata
    refreshes must keep the same entity id (``refresh_metadata``).
    """
    entity_id = idp if isinstance(idp, str) else idp.entity_id
    if not organization.sso_issuer:
        raise SsoConfigurationError(
            "Set the organization's SSO issuer before configuring single sign-on."
        )
    rules = organization.identity_provider
    if rules.kind == IdentityProviderKind.ENTRA:
        try:
            idp_issuer = parse_issuer(entity_id)
        except ValidationError:
            raise SsoConfigurationError(
                f"The IdP entity id {entity_id!r} is not a Microsoft Entra tenant "
                f"(https://sts.windows.net/<tenant-id>/), but {organization} signs in through "
                "Microsoft Entra ID. Change its identity provider first if it moved."
            ) from None
        if idp_issuer.tenant_id != organization.sso_tenant_id:
            raise SsoConfigurationError(
                f"The IdP metadata is for Entra tenant {idp_issuer.tenant_id}, but "
                f"{organization}'s SSO issuer is tenant {organization.sso_tenant_id}."
            )
        return True
    if entity_id == organization.sso_issuer:
        return False
    if rules.kind == IdentityProviderKind.OKTA and organization.sso_issuer.startswith("https://"):
        org_host = urlsplit(organization.sso_issuer).hostname
        sso_host = None if isinstance(idp, str) else urlsplit(idp.sso_url).hostname
        if _OKTA_APP_ENTITY.fullmatch(entity_id) and sso_host and sso_host.lower() == org_host:
            return False
        raise SsoConfigurationError(
            f"The IdP metadata is not an Okta app of {org_host} ({organization}'s Okta org): "
            f"its entity id is {entity_id!r}. Use the metadata of the Kno2fy app in that org "
            f"({rules.where_metadata})."
        )
    raise SsoConfigurationError(
        f"The IdP entity id {entity_id!r} is not {organization}'s {rules.issuer_label}, "
        f"{organization.sso_issuer!r}. Upload the metadata of that identity provider, or "
        "change the organization's SSO issuer first if the customer moved."
    )


@transaction.atomic
def configure_sso(
    organization: Organization,
    *,
    portal_groups: list[str],
    actor: Actor,
    metadata_url: str = "",
    metadata_xml: str = "",
    allow_password_sign_in: bool | None = None,
) -> SsoConfiguration:
    """Configure (or reconfigure) the organization's IdP from a metadata URL or document.

    With a URL the document is fetched (unless ``metadata_xml`` already holds what was fetched
    from it) and ``refresh_sso_metadata`` keeps it current; an uploaded document stays as is.
    """
    if not metadata_url and not metadata_xml:
        raise SsoConfigurationError("Give either a metadata URL or a metadata file.")
    by_key: dict[str, str] = {}
    for name in portal_groups:
        if name.strip():
            by_key.setdefault(identity_key(name.strip()), name.strip())
    names = sorted(by_key.values(), key=str.casefold)
    if not names:
        raise SsoConfigurationError("Choose at least one portal group.")
    if metadata_url and not metadata_xml:
        metadata_xml = fetch_metadata(metadata_url)
    try:
        idp = saml.parse_metadata(metadata_xml)
    except saml.MetadataError as exc:
        raise SsoConfigurationError(str(exc)) from exc
    is_entra = check_idp_matches_issuer(organization, idp)
    configuration = SsoConfiguration.objects.filter(organization=organization).first()
    if configuration is None:
        configuration = SsoConfiguration(organization=organization)
    configuration.idp_entity_id = idp.entity_id
    configuration.idp_is_entra = is_entra
    configuration.metadata_url = metadata_url
    configuration.metadata_xml = metadata_xml
    configuration.metadata_fetched_at = timezone.now() if metadata_url else None
    configuration.metadata_refresh_error = ""
    configuration.configured_at = timezone.now()
    configuration.configured_by = actor if isinstance(actor, AbstractBaseUser) else None
    configuration.enabled = True
    if allow_password_sign_in is not None:
        configuration.allow_password_sign_in = allow_password_sign_in
    configuration.save()
    configuration.portal_groups.all().delete()
    SsoPortalGroup.objects.bulk_create(
        SsoPortalGroup(
            configuration=configuration, display_name=name, display_name_key=identity_key(name)
        )
        for name in names
    )
    record_audit(
        organization,
        audit.SSO_CONFIGURED,
        actor=actor,
        idp_entity_id=idp.entity_id,
        metadata_url=metadata_url,
        portal_groups=names,
    )
    return configuration


@transaction.atomic
def configure_identity_provider(
    organizations: list[Organization],
    *,
    kind: str,
    issuer: str,
    portal_groups: list[str],
    actor: Actor,
    metadata_url: str = "",
    metadata_xml: str = "",
    allow_password_sign_in: bool | None = None,
) -> list[SsoConfiguration]:
    """The portal's "Save single sign-on": one IdP connection (kind, issuer, metadata, portal
    groups) for each of ``organizations``, all or none. Each organization's issuer is set by
    ``set_sso_issuer`` (a change ends the old IdP's trust) and its SSO by ``configure_sso``,
    both audited per organization; a metadata URL is fetched once for all of them."""
    if metadata_url and not metadata_xml:
        metadata_xml = fetch_metadata(metadata_url)
    configurations = []
    for organization in organizations:
        try:
            set_sso_issuer(organization, issuer, actor=actor, kind=kind)
            configurations.append(
                configure_sso(
                    organization,
                    portal_groups=portal_groups,
                    actor=actor,
                    metadata_url=metadata_url,
                    metadata_xml=metadata_xml,
                    allow_password_sign_in=allow_password_sign_in,
                )
            )
        except ValidationError as exc:
            if len(organizations) == 1:
                raise
            raise SsoConfigurationError(
                [f"{organization.name}: {message}" for message in exc.messages]
            ) from exc
    return configurations


@transaction.atomic
def set_password_sign_in(
    configuration: SsoConfiguration, allowed: bool, *, actor: Actor
) -> SsoConfiguration:
    configuration.allow_password_sign_in = allowed
    configuration.save(update_fields=["allow_password_sign_in"])
    record_audit(
        configuration.organization, audit.SSO_PASSWORD_SIGN_IN, actor=actor, allowed=allowed
    )
    return configuration


@transaction.atomic
def set_enabled(
    configuration: SsoConfiguration, enabled: bool, *, actor: Actor
) -> SsoConfiguration:
    """Switch single sign-on on or off. Switching it on checks the IdP against the
    organization's identity provider again, so a configuration disabled because the
    organization changed its identity provider cannot be switched back on for the old one."""
    if enabled:
        try:
            idp = saml.parse_metadata(configuration.metadata_xml)
        except saml.MetadataError as exc:
            raise SsoConfigurationError(str(exc)) from exc
        check_idp_matches_issuer(configuration.organization, idp)
    configuration.enabled = enabled
    configuration.save(update_fields=["enabled"])
    record_audit(
        configuration.organization,
        audit.SSO_ENABLED if enabled else audit.SSO_DISABLED,
        actor=actor,
    )
    return configuration


def end_trust_of_previous_identity_provider(
    organization: Organization,
    previous: IdentityProviderConnection,
    current: IdentityProviderConnection,
    actor: Actor,
) -> list[str]:
    """The organization's identity provider changed: single sign-on configured for the old one
    stops at once (disabled, its sessions end at their next request), until staff configure
    the new IdP's metadata. Receiver of ``organizations.signals.identity_provider_changed``."""
    configuration = (
        SsoConfiguration.objects.select_for_update().filter(organization=organization).first()
    )
    if configuration is None:
        return []
    try:
        check_idp_matches_issuer(organization, saml.parse_metadata(configuration.metadata_xml))
    except (SsoConfigurationError, saml.MetadataError):
        pass
    else:
        return []
    was_enabled = configuration.enabled
    configuration.enabled = False
    configuration.metadata_refresh_error = (
        f"The organization's identity provider changed from {previous.issuer or 'none'} to "
        f"{current.issuer or 'none'}: configure single sign-on with the new identity "
        "provider's metadata."
    )
    configuration.save(update_fields=["enabled", "metadata_refresh_error"])
    record_audit(
        organization,
        audit.SSO_DISABLED_IDENTITY_PROVIDER_CHANGED,
        actor=actor,
        idp_entity_id=configuration.idp_entity_id,
        previous=previous.issuer,
        current=current.issuer,
        was_enabled=was_enabled,
    )
    logger.warning(
        "SSO disabled org=%s: identity provider changed, IdP %s no longer trusted",
        organization.pk,
        configuration.idp_entity_id,
    )
    return [f"single sign-on with {configuration.idp_entity_id} disabled"]


@dataclass(frozen=True)
class RefreshResult:
    organization: str
    changed: bool
    error: str


def refresh_metadata(configuration: SsoConfiguration) -> RefreshResult:
    """Fetch the IdP's metadata URL again and adopt it (certificate rollover).

    Signing certificates are whatever the current metadata lists: Entra publishes a new
    certificate next to the old one before it switches, so both verify during the overlap, and a
    certificate removed from the metadata stops verifying at the next refresh. A document that
    names another IdP, or cannot be used, is refused and the previous metadata stays in force.
    """
    slug = configuration.organization.slug
    try:
        metadata_xml = fetch_metadata(configuration.metadata_url)
        idp = saml.parse_metadata(metadata_xml)
        if idp.entity_id != configuration.idp_entity_id:
            raise SsoConfigurationError(
                f"The metadata now names IdP {idp.entity_id!r}, "
                f"not {configuration.idp_entity_id!r}."
            )
    except (SsoConfigurationError, saml.MetadataError) as exc:
        error = "; ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
        configuration.metadata_refresh_error = error
        configuration.save(update_fields=["metadata_refresh_error"])
        logger.warning("SSO metadata refresh failed for %s: %s", slug, error)
        return RefreshResult(slug, False, error)
    changed = metadata_xml != configuration.metadata_xml
    configuration.metadata_xml = metadata_xml
    configuration.metadata_fetched_at = timezone.now()
    configuration.metadata_refresh_error = ""
    configuration.save(
        update_fields=["metadata_xml", "metadata_fetched_at", "metadata_refresh_error"]
    )
    return RefreshResult(slug, changed, "")


def _allowed_group(organization_id: int, user_ref: OuterRef | int) -> Exists:
    """Whether the user is a member of a group the organization's SSO lets into the portal.

    Groups are compared by their SCIM identity keys (``scim.identity.identity_key``), decided
    in Python and stored on both sides, never by SQL ``UPPER()``, whose folding depends on the
    database and its collation.
    """
    keys = SsoPortalGroup.objects.filter(
        configuration__organization_id=organization_id,
        configuration__enabled=True,
    ).values("display_name_key")
    return Exists(
        GroupMembership.objects.filter(
            user_id=user_ref,
            group__organization_id=organization_id,
            group__display_name_key__in=keys,
        )
    )


def sso_session_is_valid(organization_id: int, scim_user_id: int) -> bool:
    """One indexed query: is this user still provisioned, active, and in a portal group?

    Called on every request of an SSO session, so deactivating, deleting or removing the user
    from the group through SCIM ends the session at its next request.
    """
    return (
        ScimUser.objects.filter(pk=scim_user_id, organization_id=organization_id)
        .exclude(active=False)
        .filter(_allowed_group(organization_id, OuterRef("pk")))
        .exists()
    )


@dataclass(frozen=True)
class SignInResult:
    """What an ACS post came to. ``attempt`` is the sign-in log row, written only when the IdP's
    signature vouched for the response; ``reason`` says why it was refused, if it was."""

    reason: str = ""
    attempt: SignInAttempt | None = None
    portal_user: AbstractBaseUser | None = None
    scim_user: ScimUser | None = None

    @property
    def accepted(self) -> bool:
        return self.portal_user is not None


def record_attempt(
    organization: Organization,
    *,
    name_id: str,
    reason: str = "",
    detail: str = "",
    client_ip: str | None = None,
) -> SignInAttempt:
    """Write one sign-in log row: only for a response whose IdP signature verified."""
    return SignInAttempt.objects.create(
        organization=organization,
        name_id=name_id[:255],
        outcome=Outcome.REFUSED if reason else Outcome.ACCEPTED,
        reason=reason,
        detail=detail[:500],
        client_ip=client_ip,
    )


def count_unverified(
    organization: Organization, reason: str, *, at: datetime | None = None
) -> None:
    """Count one ACS post refused before any IdP signature vouched for it, in the hour's row for
    its reason: an UPDATE, and on the hour's first such refusal an INSERT (a concurrent first
    refusal retries the UPDATE). Nothing of the post itself is kept."""
    hour = (at or timezone.now()).replace(minute=0, second=0, microsecond=0)
    bump = UnverifiedSignInCount.objects.filter(organization=organization, hour=hour, reason=reason)
    if bump.update(count=F("count") + 1):
        return
    try:
        with transaction.atomic():
            UnverifiedSignInCount.objects.create(
                organization=organization, hour=hour, reason=reason, count=1
            )
    except IntegrityError:
        bump.update(count=F("count") + 1)


def unverified_counts(
    organization: Organization, *, hours: int, now: datetime | None = None
) -> list[tuple[str, int]]:
    """``(reason label, count)`` of the unverified refusals of the last ``hours`` hours (the
    oldest hour counts whole), most frequent first."""
    since = ((now or timezone.now()) - timedelta(hours=hours)).replace(
        minute=0, second=0, microsecond=0
    )
    totals: dict[str, int] = {}
    for reason, count in UnverifiedSignInCount.objects.filter(
        organization=organization, hour__gte=since
    ).values_list("reason", "count"):
        totals[reason] = totals.get(reason, 0) + count
    labels = dict(RefusalReason.choices)
    return sorted(
        ((labels.get(reason, reason), total) for reason, total in totals.items()),
        key=lambda item: (-item[1], item[0]),
    )


@transaction.atomic
def prune_sign_in_log(*, older_than_days: int | None = None, now: datetime | None = None) -> int:
    """Delete sign-in log rows and unverified counts older than ``SSO_SIGN_IN_RETENTION_DAYS``;
    return how many log rows went."""
    days = settings.SSO_SIGN_IN_RETENTION_DAYS if older_than_days is None else older_than_days
    cutoff = (now or timezone.now()) - timedelta(days=days)
    deleted, _ = SignInAttempt.objects.filter(created_at__lt=cutoff).delete()
    UnverifiedSignInCount.objects.filter(hour__lt=cutoff).delete()
    return deleted


def start_sign_in(configuration: SsoConfiguration, relay_state: str) -> tuple[str, str]:
    """``(request id, IdP URL)`` for an SP-initiated sign-in."""
    return saml.authn_request(
        service_provider(configuration.organization),
        configuration.metadata_xml,
        configuration.idp_entity_id,
        relay_state,
    )


def _remember_assertion(organization: Organization, assertion: saml.VerifiedAssertion) -> bool:
    """Record the assertion id; False if any worker accepted it before (a replay)."""
    now = timezone.now()
    expires = parse_datetime(assertion.not_on_or_after) if assertion.not_on_or_after else None
    expires = max(expires or now, now) + timedelta(seconds=settings.SSO_CLOCK_SKEW_SECONDS)
    UsedAssertion.objects.filter(expires_at__lt=now - timedelta(days=1)).delete()
    try:
        with transaction.atomic():
            UsedAssertion.objects.create(
                assertion_id=assertion.assertion_id,
                organization=organization,
                expires_at=expires,
            )
    except IntegrityError:
        return False
    return True


def is_sso_account(user: AbstractBaseUser) -> bool:
    """Whether ``user`` is a portal account that only SSO may sign in (never a password)."""
    return user.get_username().startswith(SSO_USERNAME_PREFIX)


def portal_user_for(scim_user: ScimUser) -> AbstractBaseUser:
    """The portal account an SSO sign-in uses: one per provisioned user, linked to its
    organization only, with no password (it can only be entered through SSO)."""
    user_model = get_user_model()
    username = f"{SSO_USERNAME_PREFIX}{scim_user.scim_id}"
    user, created = user_model.objects.get_or_create(
        username=username,
        defaults={"is_staff": False, "is_superuser": False},
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    email = scim_user.work_email or (scim_user.user_name if "@" in scim_user.user_name else "")
    if user.email != email or user.first_name != (scim_user.given_name or "")[:150]:
        user.email = email
        user.first_name = (scim_user.given_name or "")[:150]
        user.last_name = (scim_user.family_name or "")[:150]
        user.save(update_fields=["email", "first_name", "last_name"])
    PortalMembership.objects.get_or_create(user=user, organization_id=scim_user.organization_id)
    if email:
        portal_services.grant_invited_role(user, scim_user.organization_id, email)
    return user


def sign_in_key(name: str) -> str:
    """What two NameIDs (or a NameID and a userName) must share to be the same person at
    sign-in: canonical composition, then lower case. No compatibility folding, unlike the
    identity key: ``jordan@contoſo.com`` (long s) and fullwidth letters are other names to the
    IdP, so they are other names here."""
    return unicodedata.normalize("NFC", name).lower()


def provisioned_user_named(organization: Organization, name_id: str) -> ScimUser | None:
    """The organization's provisioned user whose userName is ``name_id`` ignoring case only.

    The identity key (indexed, unique per organization) narrows to the one candidate; the
    candidate must then match by ``sign_in_key``, the stricter rule.
    """
    candidate = users_named(organization, name_id).first()
    if candidate is None or sign_in_key(candidate.user_name) != sign_in_key(name_id):
        return None
    return candidate


def _still_trusted(configuration: SsoConfiguration) -> bool:
    """Whether the configured IdP is still the organization's identity provider, by the same
    rules as ``check_idp_matches_issuer`` but without parsing the metadata again: a second line
    behind ``identity_provider_changed`` switching SSO off, for rows changed any other way."""
    organization = configuration.organization
    entity_id = configuration.idp_entity_id
    if not organization.sso_issuer:
        return False
    if organization.idp_kind == IdentityProviderKind.ENTRA:
        try:
            return parse_issuer(entity_id).tenant_id == organization.sso_tenant_id
        except ValidationError:
            return False
    if entity_id == organization.sso_issuer:
        return True
    # An app of the recorded Okta org: its sign-on host was checked when it was configured.
    return organization.idp_kind == IdentityProviderKind.OKTA and bool(
        organization.sso_issuer.startswith("https://") and _OKTA_APP_ENTITY.fullmatch(entity_id)
    )


def complete_sign_in(
    configuration: SsoConfiguration,
    saml_response: str,
    outstanding: dict[str, str],
    *,
    client_ip: str | None = None,
) -> SignInResult:
    """Check the posted response and decide.

    A response the IdP's signature vouched for is written to the sign-in log, accepted or
    refused, naming the person. Anything else is only counted (``count_unverified``): anyone
    can post to the ACS, and what they post must not reach the customer's log.
    """
    organization = configuration.organization

    def refuse(reason: str, name_id: str, detail: str = "") -> SignInResult:
        attempt = record_attempt(
            organization, name_id=name_id, reason=reason, detail=detail, client_ip=client_ip
        )
        return SignInResult(reason, attempt)

    def count(reason: str) -> SignInResult:
        count_unverified(organization, reason)
        return SignInResult(reason)

    if not configuration.enabled:
        return count(RefusalReason.SSO_DISABLED)
    if not _still_trusted(configuration):
        return count(RefusalReason.WRONG_ISSUER)
    try:
        assertion = saml.verify_response(
            service_provider(organization),
            configuration.metadata_xml,
            configuration.idp_entity_id,
            saml_response,
            outstanding,
        )
    except saml.ResponseRefused as exc:
        if exc.name_id is None:
            return count(exc.reason)
        return refuse(exc.reason, exc.name_id, exc.detail)
    name_id = assertion.name_id
    if not _remember_assertion(organization, assertion):
        return refuse(RefusalReason.REPLAYED, name_id)
    scim_user = provisioned_user_named(organization, name_id)
    if scim_user is None:
        return refuse(RefusalReason.NOT_PROVISIONED, name_id)
    if not scim_user.is_active:
        return refuse(RefusalReason.INACTIVE, name_id)
    if not sso_session_is_valid(organization.pk, scim_user.pk):
        return refuse(RefusalReason.NOT_IN_GROUP, name_id, " or ".join(configuration.group_names))
    user = portal_user_for(scim_user)
    attempt = record_attempt(organization, name_id=name_id, client_ip=client_ip)
    return SignInResult("", attempt, portal_user=user, scim_user=scim_user)


def organization_is_sso_only(organization: Organization) -> bool:
    """Its portal administrators sign in through SSO only (SSO on, no "also allow password
    sign-in"): the portal's ``PORTAL_SSO_ONLY_CHECK``."""
    return SsoConfiguration.objects.filter(
        organization=organization, enabled=True, allow_password_sign_in=False
    ).exists()


def password_sign_in_allowed(user: AbstractBaseUser) -> bool:
    """A password may sign ``user`` in unless they are an SSO account, or every organization
    they belong to has switched SSO on without "also allow password sign-in"."""
    if is_sso_account(user):
        return False
    memberships = PortalMembership.objects.filter(user=user)
    if not memberships.exists():
        return True
    return memberships.exclude(
        organization__sso_configuration__enabled=True,
        organization__sso_configuration__allow_password_sign_in=False,
    ).exists()


def session_expiry(now: datetime | None = None) -> datetime:
    return (now or timezone.now()) + timedelta(seconds=settings.SSO_SESSION_MAX_AGE_SECONDS)


def organizations_closed_to_passwords() -> QuerySet[Organization]:
    """Organizations that sign in through SSO only: switched on, without "also allow password
    sign-in". The portal hides them from password sessions
    (``PORTAL_PASSWORD_CLOSED_ORGANIZATIONS``)."""
    return Organization.objects.filter(
        sso_configuration__enabled=True, sso_configuration__allow_password_sign_in=False
    )


def password_session_is_valid(user: AbstractBaseUser, signed_in_at: datetime | None) -> bool:
    """One query, on every request of a tenant admin's password session: may it go on?

    It ends once every organization of the account signs in through SSO only (an account
    without organizations is left alone), and once SCIM deactivated or deleted the person in
    one of those organizations after the session began: a successful deactivation or deletion
    in the sync history whose subject is the account's email or username by the SCIM identity
    rule. Nothing is done at SCIM time, so provisioning costs no query more; a session that does
    not say when it began counts as begun before any such event.
    """
    memberships = PortalMembership.objects.filter(user_id=OuterRef("pk"))
    open_membership = memberships.exclude(
        organization__in=organizations_closed_to_passwords().values("pk")
    )
    names = {identity_key(name) for name in (user.email, user.get_username()) if name}
    departed = SyncEvent.objects.filter(
        organization__portal_memberships__user_id=OuterRef("pk"),
        operation__in=PERSON_LEAVES,
        succeeded=True,
        subject_key__in=names,
    )
    if signed_in_at is not None:
        departed = departed.filter(created_at__gt=signed_in_at)
    return (
        get_user_model()
        .objects.filter(pk=user.pk)
        .filter(Q(Exists(open_membership)) | ~Q(Exists(memberships)))
        .exclude(Exists(departed))
        .exists()
    )
