"""The whole SP-initiated flow over a real gunicorn: in chromium through the Entra-like test IdP,
and with plain HTTP for what a browser cannot show (a replay across workers)."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from portal import services as portal_services
from sso import services
from sso.models import RefusalReason, SignInAttempt
from tests import factories

from .conftest import provision_group, provision_user
from .idp import encode


@pytest.fixture
def world(transactional_db, settings, sso_server, idp, organization):
    """Riverside with Kno2 Admins and jordan in it, SSO on, the IdP knowing the organization."""
    settings.PUBLIC_BASE_URL = sso_server.url
    group = provision_group(organization, "Kno2 Admins")
    jordan = provision_user(organization, "jordan@contoso.com", groups=(group,))
    services.configure_sso(
        organization, portal_groups=["Kno2 Admins"], actor=None, metadata_url=idp.metadata_url
    )
    idp.organizations[str(organization.public_id)] = organization
    idp.current_user = "jordan@contoso.com"
    return jordan


@pytest.mark.browser
def test_a_tenant_admin_signs_in_through_entra_and_loses_access_when_deactivated(
    page, sso_server, world, organization
):
    page.goto(f"{sso_server.url}/portal/login/")
    page.fill("#sso-organization", organization.slug)
    page.click("text=Continue with SSO")
    page.wait_for_url(f"**/portal/o/{organization.slug}/")
    assert page.locator("h1").inner_text() == organization.name

    _, token = factories.make_token(organization)
    answer = requests.patch(
        f"{sso_server.url}/scim/v2/{organization.public_id}/Users/{world.scim_id}",
        json={
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "Replace", "path": "active", "value": False}],
        },
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert answer.status_code == 200

    page.reload()
    page.wait_for_url("**/portal/login/**")
    assert page.locator("h1").inner_text() == "Sign in to the provisioning portal"


@pytest.mark.browser
def test_the_portal_sso_page_copies_the_reply_url_and_shows_who_was_refused(
    browser, sso_server, world, idp, organization
):
    outsider = provision_user(organization, "casey@contoso.com")
    # The SSO page is for the organization's admins: jordan was invited as one.
    invitation, _ = portal_services.invite(
        organization, email="jordan@contoso.com", role="admin", actor=None, send=False
    )
    portal_services.accept_invitation_for_sso(invitation.pk)
    context = browser.new_context(permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        idp.current_user = outsider.user_name
        page.goto(f"{sso_server.url}/sso/{organization.public_id}/login/")
        assert page.locator("[data-testid=sso-refused]").is_visible()
        idp.current_user = "jordan@contoso.com"
        page.goto(
            f"{sso_server.url}/sso/{organization.public_id}/login/?next=/portal/o/"
            f"{organization.slug}/sso/"
        )
        page.wait_for_url(f"**/portal/o/{organization.slug}/sso/")
        attempts = page.locator("[data-testid=sso-attempt]").all_inner_texts()
        assert attempts[:2] == [
            "jordan@contoso.com signed in",
            "casey@contoso.com was refused: not in Kno2 Admins",
        ]
        page.click("[data-copy=sso-acs-url]")
        page.wait_for_selector("[data-copy=sso-acs-url]:has-text('Copied')")
        copied = page.evaluate("navigator.clipboard.readText()")
        assert copied == services.service_provider(organization).acs_url
    finally:
        context.close()


def test_an_assertion_replayed_to_another_worker_is_refused(sso_server, world, idp, organization):
    """gunicorn runs two workers; the used-assertion table is what both share."""
    browser = requests.Session()
    start = browser.get(
        f"{sso_server.url}/sso/{organization.public_id}/login/", allow_redirects=False, timeout=10
    )
    saml_request = parse_qs(urlsplit(start.headers["Location"]).query)["SAMLRequest"][0]
    request_id = idp.server_for(organization).parse_authn_request(saml_request).message.id
    xml = idp.response(organization, request_id)
    cookie = browser.cookies.get("kno2_sso_request")
    acs = f"{sso_server.url}/sso/{organization.public_id}/acs/"
    first = browser.post(acs, data={"SAMLResponse": encode(xml)}, allow_redirects=False, timeout=10)
    assert first.status_code == 302
    replays = [
        requests.post(
            acs,
            data={"SAMLResponse": encode(xml)},
            allow_redirects=False,
            cookies={"kno2_sso_request": cookie},
            timeout=10,
        )
        for _ in range(4)
    ]
    assert [answer.status_code for answer in replays] == [403] * 4
    reasons = list(
        SignInAttempt.objects.filter(organization=organization).values_list("reason", flat=True)
    )
    assert reasons == [RefusalReason.REPLAYED] * 4 + [""]
    assert re.search(r"sessionid=", first.headers["Set-Cookie"])
