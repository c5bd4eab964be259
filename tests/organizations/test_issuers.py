import uuid

import pytest
from django.core.exceptions import ValidationError

from organizations.issuers import IssuerFormat, parse_issuer

TENANT = "72f9aa11-86f1-41af-91ab-2d7cd011db47"


@pytest.mark.parametrize(
    ("value", "issuer_format"),
    [
        (f"https://sts.windows.net/{TENANT}/", IssuerFormat.SAML_V1),
        (f"https://login.microsoftonline.com/{TENANT}/v2.0", IssuerFormat.OIDC_V2),
        (f"  https://sts.windows.net/{TENANT}/  ", IssuerFormat.SAML_V1),
    ],
)
def test_accepts_entra_issuers_and_reads_their_tenant(value, issuer_format):
    issuer = parse_issuer(value)
    assert issuer.tenant_id == uuid.UUID(TENANT)
    assert issuer.format == issuer_format


def test_upper_case_tenant_is_normalised_to_lower_case():
    issuer = parse_issuer(f"https://sts.windows.net/{TENANT.upper()}/")
    assert issuer.url == f"https://sts.windows.net/{TENANT}/"


@pytest.mark.parametrize(
    ("value", "explanation"),
    [
        ("", "Enter the issuer value"),
        (f"http://sts.windows.net/{TENANT}/", "must use https"),
        (f"https://sts.windows.net/{TENANT}", "missing its trailing slash"),
        (f"https://login.microsoftonline.com/{TENANT}/", "ends in /v2.0"),
        ("https://sts.windows.net/contoso.onmicrosoft.com/", "not a directory (tenant) ID"),
        ("https://sts.windows.net/72f9aa11-86f1-41af-91ab-2d7cd011db4/", "not a directory"),
        (
            "https://login.microsoftonline.com/contoso.onmicrosoft.com/FederationMetadata/"
            "2007-06/FederationMetadata.xml",
            "not a directory",
        ),
        ("https://accounts.google.com", "not a Microsoft Entra ID issuer"),
        ("https://sts.windows.net/9188040d-6c67-4c5b-b112-36a304b66dad/", "personal Microsoft"),
        (
            "https://login.microsoftonline.com/9188040D-6C67-4C5B-B112-36A304B66DAD/v2.0",
            "personal Microsoft",
        ),
    ],
)
def test_rejects_a_bad_issuer_saying_what_is_wrong(value, explanation):
    with pytest.raises(ValidationError) as caught:
        parse_issuer(value)
    assert explanation in " ".join(caught.value.messages)
