"""Parse and validate the SSO issuer Kno2 staff record for an organization.

Microsoft Entra ID names itself in tokens by its tenant id (see
``docs/azure-scim-client.md`` §4.3):

* SAML assertions and v1.0 tokens: ``https://sts.windows.net/<tenant-id>/``
* v2.0 tokens: ``https://login.microsoftonline.com/<tenant-id>/v2.0``

We store the tenant id (lower case) and the issuer format, and derive the exact issuer string
from them, so a stray upper-case letter or missing slash can never make SSO and provisioning
disagree about which tenant an organization belongs to.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import models

# The tenant that personal Microsoft accounts (outlook.com, live.com) sign in through. It is not
# an organization's directory, so it can never provision a Kno2 organization.
PERSONAL_ACCOUNTS_TENANT = uuid.UUID("9188040d-6c67-4c5b-b112-36a304b66dad")

_GUID = r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"
_V1 = re.compile(rf"https://sts\.windows\.net/(?P<tenant>{_GUID})/")
_V2 = re.compile(rf"https://login\.microsoftonline\.com/(?P<tenant>{_GUID})/v2\.0")


class IssuerFormat(models.TextChoices):
    SAML_V1 = "v1", "https://sts.windows.net/<tenant-id>/ (SAML, v1.0 tokens)"
    OIDC_V2 = "v2", "https://login.microsoftonline.com/<tenant-id>/v2.0 (v2.0 tokens)"


@dataclass(frozen=True)
class Issuer:
    tenant_id: uuid.UUID
    format: str

    @property
    def url(self) -> str:
        return issuer_url(self.tenant_id, self.format)


def issuer_url(tenant_id: uuid.UUID, issuer_format: str) -> str:
    if issuer_format == IssuerFormat.OIDC_V2:
        return f"https://login.microsoftonline.com/{tenant_id}/v2.0"
    return f"https://sts.windows.net/{tenant_id}/"


def parse_issuer(value: str) -> Issuer:
    """Return the tenant and format of an Entra issuer, or raise ``ValidationError`` saying why."""
    text = (value or "").strip()
    if not text:
        raise ValidationError("Enter the issuer value from Microsoft Entra ID.", code="required")
    match = _V1.fullmatch(text)
    issuer_format = IssuerFormat.SAML_V1
    if match is None:
        match = _V2.fullmatch(text)
        issuer_format = IssuerFormat.OIDC_V2
    if match is None:
        raise ValidationError(_explain_malformed(text), code="invalid")
    tenant_id = uuid.UUID(match["tenant"])
    if tenant_id == PERSONAL_ACCOUNTS_TENANT:
        raise ValidationError(
            "This is the tenant of personal Microsoft accounts (outlook.com, live.com), not an "
            "organization's directory. Use the Microsoft Entra Identifier shown on the customer's "
            "Kno2fy single sign-on setup page.",
            code="personal_accounts",
        )
    return Issuer(tenant_id=tenant_id, format=issuer_format)


def _explain_malformed(text: str) -> str:
    expected = (
        "Expected https://sts.windows.net/<tenant-id>/ or "
        "https://login.microsoftonline.com/<tenant-id>/v2.0, where <tenant-id> is the "
        "customer's directory (tenant) ID, a GUID."
    )
    if text.startswith("http://"):
        return f"The issuer must use https, not http. {expected}"
    if re.fullmatch(r"https://sts\.windows\.net/[^/]+", text):
        return f"The issuer is missing its trailing slash. {expected}"
    if re.fullmatch(rf"https://login\.microsoftonline\.com/{_GUID}/?", text):
        return f"A login.microsoftonline.com issuer ends in /v2.0. {expected}"
    if re.match(r"https://(sts\.windows\.net|login\.microsoftonline\.com)/", text):
        return f"The tenant part is not a directory (tenant) ID. {expected}"
    if "FederationMetadata" in text:
        return f"That is the federation metadata URL, not the issuer. {expected}"
    return f"This is not a Microsoft Entra ID issuer. {expected}"
