"""Driving the SP-initiated flow with Django's test client: start, let the IdP answer, post."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from django.test import Client

from organizations.models import Organization
from sso import services

from .idp import TestIdp, encode


def start(client: Client, organization: Organization, next_path: str = "") -> str:
    """Open the sign-on URL as a browser does; return the AuthnRequest id the IdP receives."""
    sp = services.service_provider(organization)
    query = f"?next={next_path}" if next_path else ""
    answer = client.get(urlsplit(sp.login_url).path + query)
    assert answer.status_code == 302
    saml_request = parse_qs(urlsplit(answer["Location"]).query)["SAMLRequest"][0]
    return saml_request


def request_id(idp: TestIdp, organization: Organization, saml_request: str) -> str:
    return idp.server_for(organization).parse_authn_request(saml_request).message.id


def post(client: Client, organization: Organization, xml: str, relay_state: str = ""):
    sp = services.service_provider(organization)
    return client.post(
        urlsplit(sp.acs_url).path, {"SAMLResponse": encode(xml), "RelayState": relay_state}
    )


def signed_in_as(client: Client) -> str | None:
    """The SCIM userName behind the client's portal session, if SSO signed it in."""
    from scim.models import ScimUser

    state = client.session.get("sso")
    if not state or "_auth_user_id" not in client.session:
        return None
    return ScimUser.objects.get(pk=state["user"]).user_name
