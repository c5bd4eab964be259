"""What the SAML protocol itself must carry (issue 18 item 5, issue 19 item 10): signatures with
SHA-256 or stronger, a NameID that names the user, an assertion with its Conditions; and what our
SP metadata asks of the IdP. Against the pysaml2 IdP of ``idp.py``, through Django's test client."""

from __future__ import annotations

from defusedxml.ElementTree import fromstring
from saml2.saml import NAMEID_FORMAT_PERSISTENT, NAMEID_FORMAT_TRANSIENT, NAMEID_FORMAT_UNSPECIFIED
from saml2.xmldsig import DIGEST_SHA1, DIGEST_SHA256, SIG_RSA_SHA1, SIG_RSA_SHA256

from organizations.models import Organization
from sso import services
from sso.models import Outcome, RefusalReason, SignInAttempt

from . import flow

MD = "urn:oasis:names:tc:SAML:2.0:metadata"
ALG = "urn:oasis:names:tc:SAML:metadata:algsupport"


def _answer(idp, organization, client, **kwargs):
    request = flow.request_id(idp, organization, flow.start(client, organization))
    return flow.post(client, organization, idp.response(organization, request, **kwargs))


def _last_attempt(organization: Organization) -> SignInAttempt:
    return SignInAttempt.objects.filter(organization=organization).first()


def _sp_metadata(client, organization):
    path = services.service_provider(organization).metadata_url.split("://", 1)[1]
    return fromstring(client.get(path[path.index("/") :]).content)


def test_our_metadata_asks_the_idp_to_sign_assertions(client, sso, organization):
    descriptor = _sp_metadata(client, organization).find(f"{{{MD}}}SPSSODescriptor")
    assert descriptor.get("WantAssertionsSigned") == "true"


def test_our_metadata_advertises_only_sha256_or_stronger_algorithms(client, sso, organization):
    document = _sp_metadata(client, organization)
    advertised = sorted(
        element.get("Algorithm")
        for tag in ("DigestMethod", "SigningMethod")
        for element in document.iter(f"{{{ALG}}}{tag}")
    )
    assert advertised == sorted(
        [
            "http://www.w3.org/2001/04/xmlenc#sha256",
            "http://www.w3.org/2001/04/xmldsig-more#sha384",
            "http://www.w3.org/2001/04/xmlenc#sha512",
            "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
            "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384",
            "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512",
            "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
            "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384",
            "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512",
        ]
    )


def test_an_assertion_signed_with_rsa_sha1_is_refused(client, sso, jordan, idp, organization):
    _answer(idp, organization, client, sign_alg=SIG_RSA_SHA1, digest_alg=DIGEST_SHA256)
    assert flow.signed_in_as(client) is None
    attempt = _last_attempt(organization)
    assert (attempt.name_id, attempt.reason, attempt.detail) == (
        "jordan@contoso.com",
        RefusalReason.WEAK_ALGORITHM,
        SIG_RSA_SHA1,
    )


def test_an_assertion_with_sha1_digests_is_refused(client, sso, jordan, idp, organization):
    _answer(idp, organization, client, sign_alg=SIG_RSA_SHA256, digest_alg=DIGEST_SHA1)
    assert flow.signed_in_as(client) is None
    assert (_last_attempt(organization).reason, _last_attempt(organization).detail) == (
        RefusalReason.WEAK_ALGORITHM,
        DIGEST_SHA1,
    )


def test_a_response_signed_with_rsa_sha1_around_an_unsigned_assertion_is_refused(
    client, sso, jordan, idp, organization
):
    _answer(
        idp,
        organization,
        client,
        sign_assertion=False,
        sign_response=True,
        sign_alg=SIG_RSA_SHA1,
        digest_alg=DIGEST_SHA1,
    )
    assert flow.signed_in_as(client) is None
    assert _last_attempt(organization).reason == RefusalReason.WEAK_ALGORITHM


def test_the_refusal_page_says_the_idp_must_sign_with_sha256(
    client, sso, jordan, idp, organization
):
    answer = _answer(idp, organization, client, sign_alg=SIG_RSA_SHA1)
    assert answer.status_code == 403
    assert "set it to sign with RSA-SHA256" in answer.content.decode()


def test_an_unspecified_name_id_matches_the_provisioned_user(
    client, sso, jordan, idp, organization
):
    _answer(idp, organization, client, name_id_format=NAMEID_FORMAT_UNSPECIFIED)
    assert flow.signed_in_as(client) == "jordan@contoso.com"


def test_a_persistent_name_id_is_refused_naming_the_format_and_the_fix(
    client, sso, jordan, idp, organization
):
    opaque = "3f9c1e0a-5be2-4d8e-9e83-0b6f0d1c2a77"
    _answer(idp, organization, client, name_id=opaque, name_id_format=NAMEID_FORMAT_PERSISTENT)
    assert flow.signed_in_as(client) is None
    attempt = _last_attempt(organization)
    assert (attempt.name_id, attempt.reason, attempt.detail) == (
        opaque,
        RefusalReason.NAMEID_PERSISTENT,
        NAMEID_FORMAT_PERSISTENT,
    )
    assert "Unique User Identifier (Name ID) = user.userprincipalname" in attempt.summary
    assert "format emailAddress" in attempt.summary


def test_a_persistent_name_id_that_looks_like_an_email_is_still_refused(
    client, sso, jordan, idp, organization
):
    """The format says the value is an opaque pairwise id; we never guess otherwise."""
    _answer(idp, organization, client, name_id_format=NAMEID_FORMAT_PERSISTENT)
    assert flow.signed_in_as(client) is None
    assert _last_attempt(organization).reason == RefusalReason.NAMEID_PERSISTENT


def test_a_transient_name_id_is_refused_naming_the_format(client, sso, jordan, idp, organization):
    _answer(idp, organization, client, name_id="_8e1f0a2b", name_id_format=NAMEID_FORMAT_TRANSIENT)
    attempt = _last_attempt(organization)
    assert (attempt.reason, attempt.detail) == (
        RefusalReason.NAMEID_TRANSIENT,
        NAMEID_FORMAT_TRANSIENT,
    )


def test_the_refusal_page_tells_the_user_what_the_idp_must_send_as_name_id(
    client, sso, jordan, idp, organization
):
    answer = _answer(
        idp, organization, client, name_id="_8e1f0a2b", name_id_format=NAMEID_FORMAT_TRANSIENT
    )
    page = answer.content.decode()
    assert answer.status_code == 403
    assert "one-time transient NameID" in page
    assert "send the user&#x27;s email as the NameID, format emailAddress" in page


def test_a_signed_assertion_without_conditions_is_refused_and_recorded(
    client, sso, jordan, idp, organization
):
    answer = _answer(idp, organization, client, without_conditions=True)
    assert answer.status_code == 403
    attempt = _last_attempt(organization)
    assert (attempt.outcome, attempt.reason, attempt.name_id) == (
        Outcome.REFUSED,
        RefusalReason.INVALID_RESPONSE,
        "jordan@contoso.com",
    )
    assert "no Conditions" in attempt.detail


def test_an_idp_initiated_response_says_which_entra_field_makes_the_tile_work(
    client, sso, jordan, idp, organization
):
    """My Apps sends a response to no request of ours; the page names Entra's Sign on URL."""
    answer = flow.post(client, organization, idp.response(organization, None))
    page = answer.content.decode()
    assert answer.status_code == 403
    assert "Basic SAML Configuration" in page
    assert f"<code>{services.service_provider(organization).login_url}</code>" in page


def test_our_metadata_is_served_before_single_sign_on_is_configured(client, organization):
    """IdPs such as SimpleSAMLphp, Okta or ADFS are set up from our metadata first."""
    document = _sp_metadata(client, organization)
    assert document.get("entityID") == services.service_provider(organization).entity_id
