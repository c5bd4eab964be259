"""The identity provider an organization signs in through: its kind, and what each kind means.

An organization's identity-provider connection is three fields of ``Organization``: the kind
(``idp_kind``), the issuer or entity id the IdP names itself by (``sso_issuer``), and, for
Microsoft Entra ID only, the tenant it stands for (``sso_tenant_id`` with ``sso_issuer_format``).
They live on the organization itself so the database can hold the tutorial's rule
(provisioning only once the identity provider is set) as one check constraint, and so reading
an organization never costs a second query.

What differs between kinds is a small typed strategy, ``IdentityProviderRules``: how an issuer
is parsed and explained when it is wrong, what the IdP is called, and the names of the places
in its admin console where the customer reads or pastes each value. Everything customer-facing
that names an identity provider reads those from here (``organization.identity_provider``).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.db import models

from .issuers import IssuerFormat, parse_issuer

MAX_ISSUER_LENGTH = 500


class IdentityProviderKind(models.TextChoices):
    ENTRA = "entra", "Microsoft Entra ID"
    OKTA = "okta", "Okta"
    SAML = "saml", "Other SAML 2.0 identity provider"


@dataclass(frozen=True)
class ParsedIssuer:
    """An issuer as it is stored: the normalised string, and Entra's tenant and format."""

    issuer: str
    tenant_id: uuid.UUID | None = None
    issuer_format: str = IssuerFormat.SAML_V1


@dataclass(frozen=True)
class IdentityProviderRules:
    """What one kind of identity provider is called and where its values live.

    ``where_*`` name places in the IdP's own admin console, in its own words, so the portal and
    staff pages can tell a customer exactly where to look.
    """

    kind: IdentityProviderKind
    name: str
    issuer_label: str
    issuer_placeholder: str
    issuer_help: str
    where_issuer: str
    where_metadata: str
    where_sp_values: str
    where_provisioning: str
    where_provisioning_log: str
    where_assignments: str
    provisioning_client: str
    # The names the IdP's own screen gives our SP values, and where that screen is.
    sp_entity_id_label: str = "SP entity ID"
    sp_acs_label: str = "Assertion Consumer Service URL (HTTP-POST)"
    sp_sign_on_label: str = "SP-initiated sign-in URL"
    sp_values_note: str = ""

    def parse(self, value: str) -> ParsedIssuer:
        """The issuer to store, or ``ValidationError`` explaining what is wrong with ``value``."""
        raise NotImplementedError

    @property
    def is_entra(self) -> bool:
        return self.kind == IdentityProviderKind.ENTRA


@dataclass(frozen=True)
class _EntraRules(IdentityProviderRules):
    def parse(self, value: str) -> ParsedIssuer:
        parsed = parse_issuer(value)
        return ParsedIssuer(parsed.url, parsed.tenant_id, parsed.format)


_OKTA_HOSTS = ("okta.com", "oktapreview.com", "okta-emea.com")
_OKTA_APP_ENTITY = re.compile(r"http://www\.okta\.com/(?P<app>[A-Za-z0-9]{8,40})")


def _okta_org_host(host: str) -> bool:
    return any(
        host.endswith(f".{suffix}") and host.count(".") == suffix.count(".") + 1
        for suffix in _OKTA_HOSTS
    )


@dataclass(frozen=True)
class _OktaRules(IdentityProviderRules):
    def parse(self, value: str) -> ParsedIssuer:
        text = _required(value, self)
        app = _OKTA_APP_ENTITY.fullmatch(text)
        if app is not None:
            return ParsedIssuer(f"http://www.okta.com/{app['app']}")
        parts = urlsplit(text)
        host = (parts.hostname or "").lower()
        if parts.scheme == "https" and _okta_org_host(host) and not parts.query:
            if parts.fragment or parts.username or parts.port:
                raise ValidationError(_okta_expected("The issuer is not a plain URL."))
            path = parts.path.rstrip("/")
            return ParsedIssuer(f"https://{host}{path}")
        if parts.scheme == "http" and _okta_org_host(host):
            raise ValidationError(_okta_expected("An Okta org issuer uses https, not http."))
        raise ValidationError(_okta_expected("This is not an Okta issuer or app entity id."))


def _okta_expected(problem: str) -> str:
    return (
        f"{problem} Expected the app's Identity Provider Issuer, http://www.okta.com/<app id> "
        "(Okta Admin Console → Applications → the app → Sign On → View SAML setup "
        "instructions), or the org's issuer, https://<your org>.okta.com (or an authorization "
        "server under it, e.g. https://<your org>.okta.com/oauth2/default)."
    )


@dataclass(frozen=True)
class _SamlRules(IdentityProviderRules):
    def parse(self, value: str) -> ParsedIssuer:
        text = _required(value, self)
        if any(character.isspace() for character in text):
            raise ValidationError(
                "An entity id has no spaces. Copy the entityID attribute of the IdP's "
                "EntityDescriptor from its SAML metadata.",
                code="invalid",
            )
        if text.lower().startswith("urn:"):
            if not re.fullmatch(r"urn:[A-Za-z0-9][A-Za-z0-9-]{0,31}:\S+", text):
                raise ValidationError(
                    "This URN is malformed; expected urn:<namespace>:<name>.", code="invalid"
                )
            return ParsedIssuer(text)
        parts = urlsplit(text)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ValidationError(
                "An entity id is an absolute URI (https://idp.example.org/…) or a URN "
                "(urn:…). Copy the entityID attribute of the IdP's EntityDescriptor from its "
                "SAML metadata.",
                code="invalid",
            )
        try:
            parse_issuer(text)
        except ValidationError:
            return ParsedIssuer(text)
        raise ValidationError(
            "This is a Microsoft Entra ID issuer: choose the kind Microsoft Entra ID, so the "
            "tenant is checked.",
            code="entra_as_saml",
        )


def _required(value: str, rules: IdentityProviderRules) -> str:
    text = (value or "").strip()
    if not text:
        raise ValidationError(f"Enter the {rules.issuer_label} from {rules.name}.", code="required")
    if len(text) > MAX_ISSUER_LENGTH:
        raise ValidationError(
            f"The {rules.issuer_label} is longer than {MAX_ISSUER_LENGTH} characters.",
            code="too_long",
        )
    return text


ENTRA = _EntraRules(
    kind=IdentityProviderKind.ENTRA,
    name="Microsoft Entra ID",
    issuer_label="Microsoft Entra Identifier",
    issuer_placeholder="https://sts.windows.net/<tenant-id>/",
    issuer_help=(
        "The Microsoft Entra Identifier from the customer's Kno2fy enterprise application, "
        "Single sign-on blade, section 4: https://sts.windows.net/<tenant-id>/ (or "
        "https://login.microsoftonline.com/<tenant-id>/v2.0)."
    ),
    where_issuer="Enterprise applications → Kno2fy → Single sign-on → section 4, "
    "Microsoft Entra Identifier",
    where_metadata="Enterprise applications → Kno2fy → Single sign-on → section 3, "
    "App Federation Metadata Url",
    where_sp_values="Enterprise applications → Kno2fy → Single sign-on → section 1, "
    "Basic SAML Configuration",
    where_provisioning="Enterprise applications → Kno2fy → Provisioning → Admin Credentials",
    where_provisioning_log="Enterprise applications → Kno2fy → Provisioning logs",
    where_assignments="Enterprise applications → Kno2fy → Users and groups",
    provisioning_client="Azure AD provisioning",
    sp_entity_id_label="Identifier (Entity ID)",
    sp_acs_label="Reply URL (Assertion Consumer Service URL)",
    sp_sign_on_label="Sign on URL",
    sp_values_note="No group claim is needed: Kno2 uses the groups Entra provisions.",
)

OKTA = _OktaRules(
    kind=IdentityProviderKind.OKTA,
    name="Okta",
    issuer_label="Identity Provider Issuer",
    issuer_placeholder="http://www.okta.com/<app id>",
    issuer_help=(
        "The app's Identity Provider Issuer, http://www.okta.com/<app id> (Okta Admin Console "
        "→ Applications → the app → Sign On → View SAML setup instructions), or the org's "
        "issuer, https://<org>.okta.com."
    ),
    where_issuer="Okta Admin Console → Applications → Kno2fy → Sign On → View SAML setup "
    "instructions, Identity Provider Issuer",
    where_metadata="Okta Admin Console → Applications → Kno2fy → Sign On → Metadata URL",
    where_sp_values="Okta Admin Console → Applications → Kno2fy → General → SAML Settings",
    where_provisioning="Okta Admin Console → Applications → Kno2fy → Provisioning → Integration",
    where_provisioning_log="Okta Admin Console → Reports → System Log",
    where_assignments="Okta Admin Console → Applications → Kno2fy → Assignments and Push Groups",
    provisioning_client="Okta provisioning",
    sp_entity_id_label="Audience URI (SP Entity ID)",
    sp_acs_label="Single sign-on URL",
    sp_sign_on_label="Sign-in URL (for a link to start sign-in at Kno2)",
    sp_values_note="Name ID format: EmailAddress; Application username: Okta username (or "
    "Email). No group attribute statement is needed: Kno2 uses the groups Okta pushes.",
)

SAML = _SamlRules(
    kind=IdentityProviderKind.SAML,
    name="the SAML 2.0 identity provider",
    issuer_label="IdP entity id",
    issuer_placeholder="https://idp.example.org/saml2/idp/metadata.php",
    issuer_help=(
        "The entityID of the IdP's SAML metadata (its EntityDescriptor): an absolute URI or a "
        "URN. Sign-in trusts only this entity id and the certificates of the metadata uploaded "
        "when single sign-on is configured."
    ),
    where_issuer="the entityID attribute of the IdP's SAML metadata",
    where_metadata="the IdP's SAML 2.0 metadata (its URL or an exported XML file)",
    where_sp_values="the IdP's service provider (SP) settings",
    where_provisioning="the SCIM client's connection settings",
    where_provisioning_log="the SCIM client's provisioning log",
    where_assignments="the SCIM client's user and group assignments",
    provisioning_client="the SCIM client",
    sp_values_note="Or import the SP metadata URL, if the IdP can. The NameID must be the "
    "user's provisioned userName (emailAddress or unspecified format); assertions must be "
    "signed. No group attribute is needed: Kno2 uses the groups your SCIM client provisions.",
)

RULES: dict[str, IdentityProviderRules] = {rules.kind: rules for rules in (ENTRA, OKTA, SAML)}


def rules_for(kind: str) -> IdentityProviderRules:
    """The rules of ``kind``; raises ``ValidationError`` for a kind that does not exist."""
    try:
        return RULES[kind]
    except KeyError:
        choices = ", ".join(str(value) for value in IdentityProviderKind.values)
        raise ValidationError(
            f"{kind!r} is not an identity provider kind ({choices}).", code="kind"
        ) from None


@dataclass(frozen=True)
class IdentityProviderConnection:
    """An organization's identity-provider connection as one value: compared before and after
    a change, and carried by the ``identity_provider_changed`` signal."""

    kind: str
    issuer: str
    tenant_id: uuid.UUID | None

    @property
    def rules(self) -> IdentityProviderRules:
        return RULES[self.kind]

    @property
    def is_set(self) -> bool:
        return bool(self.issuer)

    def as_audit(self) -> dict[str, str]:
        return {"kind": str(self.kind), "issuer": self.issuer}
