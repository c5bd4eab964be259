"""An organization whose identity provider is Okta, from start to finish (issue 18's "Done
when"): staff enable it with Okta's issuer, Okta provisions it over SCIM through gunicorn with
the requests Okta's own suites send, and its admin signs in to the portal through an IdP that
signs as an Okta SAML app does."""

from __future__ import annotations

import pytest
import requests

from organizations import services as organization_services
from organizations.identity import IdentityProviderKind
from sso import services
from tests import factories
from tests.okta_reference import REFERENCE_CREATE_GROUP, REFERENCE_CREATE_USER, REFERENCE_HEADERS

from .idp import TestIdp

OKTA_APP_ISSUER = "http://www.okta.com/exk1fcia6d6EMsf331d8"
OKTA_HEADERS = {
    **REFERENCE_HEADERS,
    "Content-Type": "application/scim+json; charset=utf-8",
    "Accept": "application/scim+json",
}


@pytest.fixture
def okta_organization(transactional_db):
    return organization_services.create_organization(
        name="Lakeside Clinic",
        slug="lakeside",
        kind=IdentityProviderKind.OKTA,
        issuer=OKTA_APP_ISSUER,
        enable_provisioning=True,
    )


@pytest.fixture
def okta_idp(tmp_path, okta_organization):
    idp = TestIdp(tmp_path, tenant_id="", issuer=OKTA_APP_ISSUER, signs_response=True).start()
    idp.organizations[str(okta_organization.public_id)] = okta_organization
    yield idp
    idp.stop()


def _provision_over_scim(base: str, token: str) -> None:
    """What Okta sends for one assigned user and one pushed group: the reference's bodies with
    this user's name."""
    session = requests.Session()
    session.headers.update({**OKTA_HEADERS, "Authorization": f"Bearer {token}"})
    lookup = session.get(
        f"{base}/Users", params={"filter": 'userName eq "jordan@lakeside.example"'}, timeout=10
    )
    assert lookup.json()["totalResults"] == 0
    created = session.post(
        f"{base}/Users",
        json={
            **REFERENCE_CREATE_USER,
            "userName": "jordan@lakeside.example",
            "emails": [{"primary": True, "value": "jordan@lakeside.example", "type": "work"}],
        },
        timeout=10,
    )
    assert created.status_code == 201, created.text
    group = session.post(
        f"{base}/Groups", json={**REFERENCE_CREATE_GROUP, "displayName": "Kno2 Admins"}, timeout=10
    )
    assert group.status_code == 201, group.text
    pushed = session.patch(
        f"{base}/Groups/{group.json()['id']}",
        json={
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [
                {
                    "op": "add",
                    "path": "members",
                    "value": [
                        {"value": created.json()["id"], "display": "jordan@lakeside.example"}
                    ],
                }
            ],
        },
        timeout=10,
    )
    assert pushed.status_code == 204, pushed.text
    session.close()


@pytest.mark.browser
def test_an_okta_organization_is_provisioned_by_okta_and_its_admin_signs_in_through_okta(
    page, settings, sso_server, okta_organization, okta_idp
):
    settings.PUBLIC_BASE_URL = sso_server.url
    _, token = factories.make_token(okta_organization, label="Okta")
    _provision_over_scim(f"{sso_server.url}/scim/v2/{okta_organization.public_id}", token)
    services.configure_sso(
        okta_organization,
        portal_groups=["Kno2 Admins"],
        actor=None,
        metadata_url=okta_idp.metadata_url,
    )
    okta_idp.current_user = "jordan@lakeside.example"

    page.goto(f"{sso_server.url}/portal/login/")
    page.fill("#sso-organization", okta_organization.slug)
    page.click("text=Continue with SSO")
    page.wait_for_url(f"**/portal/o/{okta_organization.slug}/")

    assert page.locator("h1").inner_text() == "Lakeside Clinic"
