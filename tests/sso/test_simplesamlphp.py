"""Sign-in through SimpleSAMLphp, a real SAML 2.0 IdP no one here wrote (issue 18 item 7), in
chromium over gunicorn. SimpleSAMLphp imports our SP metadata with its own importer, exactly as a
customer's IdP would, so what our metadata asks for is what it does."""

from __future__ import annotations

import base64
from urllib.parse import parse_qs

import pytest
from defusedxml.ElementTree import fromstring

from organizations.models import Organization
from sso import services
from sso.models import Outcome, RefusalReason, SignInAttempt

from .conftest import provision_group, provision_user
from .simplesamlphp import SIG_RSA_SHA1, SimpleSamlPhp, missing_requirements

PASSWORD = "correct horse battery staple"  # noqa: S105 (a test IdP's test account)
SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
DS = "http://www.w3.org/2000/09/xmldsig#"
DIGEST_SHA1 = "http://www.w3.org/2000/09/xmldsig#sha1"


@pytest.fixture(scope="module")
def simplesamlphp(tmp_path_factory):
    """SimpleSAMLphp under ``php -S``; missing, it fails the test (never a skip)."""
    problem = missing_requirements()
    if problem:
        pytest.fail(problem)
    server = SimpleSamlPhp(tmp_path_factory.mktemp("simplesamlphp")).start()
    yield server
    server.stop()


def connect_to_simplesamlphp(organization: Organization, ssp: SimpleSamlPhp) -> None:
    """The organization signs in through "other SAML 2.0", pinned to SimpleSAMLphp's entity id."""
    from organizations.identity import IdentityProviderKind
    from organizations.services import set_sso_issuer

    set_sso_issuer(organization, ssp.entity_id, actor=None, kind=IdentityProviderKind.SAML)


@pytest.fixture
def world(transactional_db, settings, sso_server, simplesamlphp, organization):
    """Riverside on "other SAML 2.0" with SimpleSAMLphp, jordan in Kno2 Admins with an IdP
    account; SimpleSAMLphp reads Riverside's SP metadata from gunicorn, and SSO is configured
    from SimpleSAMLphp's metadata URL."""
    settings.PUBLIC_BASE_URL = sso_server.url
    group = provision_group(organization, "Kno2 Admins")
    provision_user(organization, "jordan@contoso.com", groups=(group,))
    connect_to_simplesamlphp(organization, simplesamlphp)
    sp = services.service_provider(organization)
    simplesamlphp.configure(sp_metadata_url=sp.metadata_url, users={"jordan@contoso.com": PASSWORD})
    services.configure_sso(
        organization,
        portal_groups=["Kno2 Admins"],
        actor=None,
        metadata_url=simplesamlphp.metadata_url,
    )
    return simplesamlphp


def _sign_in(page, sso_server, organization: Organization) -> dict[str, bool]:
    """Sign in from the portal login page through SimpleSAMLphp's form; return which parts of
    the SAML response the IdP posted to our ACS were signed."""
    acs_url = services.service_provider(organization).acs_url
    posted: list[str] = []
    page.on(
        "request",
        lambda request: (
            posted.append(request.post_data or "")
            if request.url == acs_url and request.method == "POST"
            else None
        ),
    )
    page.goto(f"{sso_server.url}/portal/login/")
    page.fill("#sso-organization", organization.slug)
    page.click("text=Continue with SSO")
    page.wait_for_selector("#username")
    page.fill("#username", "jordan@contoso.com")
    page.fill("#password", PASSWORD)
    page.click("#submit_button")
    page.wait_for_load_state("networkidle")
    assert len(posted) == 1, f"expected one POST to {acs_url}, saw {len(posted)}"
    document = fromstring(base64.b64decode(parse_qs(posted[0])["SAMLResponse"][0]))
    assertion = document.find(f"{{{SAML}}}Assertion")
    return {
        "response": document.find(f"{{{DS}}}Signature") is not None,
        "assertion": assertion is not None and assertion.find(f"{{{DS}}}Signature") is not None,
    }


@pytest.mark.browser
def test_simplesamlphp_signing_only_the_assertion_as_entra_does_signs_jordan_in(
    page, sso_server, world, organization
):
    world.configure(
        sp_metadata_url=services.service_provider(organization).metadata_url,
        users={"jordan@contoso.com": PASSWORD},
        sign_response=False,
    )
    signed = _sign_in(page, sso_server, organization)
    assert signed == {"response": False, "assertion": True}
    page.wait_for_url(f"**/portal/o/{organization.slug}/")
    assert page.locator("h1").inner_text() == organization.name


@pytest.mark.browser
def test_simplesamlphp_signing_response_and_assertion_signs_jordan_in(
    page, sso_server, world, organization
):
    signed = _sign_in(page, sso_server, organization)
    assert signed == {"response": True, "assertion": True}
    page.wait_for_url(f"**/portal/o/{organization.slug}/")
    attempt = SignInAttempt.objects.filter(organization=organization).first()
    assert attempt.summary == "jordan@contoso.com signed in"


@pytest.mark.browser
def test_simplesamlphp_signing_with_rsa_sha1_is_refused_and_told_to_use_sha256(
    page, sso_server, world, organization
):
    world.configure(
        sp_metadata_url=services.service_provider(organization).metadata_url,
        users={"jordan@contoso.com": PASSWORD},
        signature_algorithm=SIG_RSA_SHA1,
    )
    _sign_in(page, sso_server, organization)
    assert page.locator("[data-testid=sso-refused]").is_visible()
    assert (
        "set it to sign with RSA-SHA256"
        in page.locator("[data-testid=sso-refused-help]").inner_text()
    )
    attempt = SignInAttempt.objects.filter(organization=organization).first()
    assert (attempt.outcome, attempt.reason, attempt.name_id, attempt.detail) == (
        Outcome.REFUSED,
        RefusalReason.WEAK_ALGORITHM,
        "jordan@contoso.com",
        f"{SIG_RSA_SHA1}, {DIGEST_SHA1}",
    )
