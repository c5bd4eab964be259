"""In Debian's chromium: a customer admin, invited once, uploads Entra's federation metadata on
the portal's Single sign-on page and sees the values to paste, on a phone's width."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command

from sso import services
from sso.models import SsoConfiguration

from .conftest import provision_group

STRONG = "Harbour-lights-1987-quiet"


def _accept_admin_invitation(page, organization) -> None:
    out = StringIO()
    call_command(
        "invite_tenant_admin",
        organization.slug,
        "--email",
        "it.admin@riverside.test",
        "--role",
        "admin",
        "--json",
        stdout=out,
    )
    page.goto(json.loads(out.getvalue())["invitation_url"])
    page.fill("#id_new_password1", STRONG)
    page.fill("#id_new_password2", STRONG)
    page.get_by_role("button", name="Accept and sign in").click()
    page.wait_for_url(f"**/portal/o/{organization.slug}/")


@pytest.mark.browser
def test_an_admin_uploads_entras_federation_metadata_and_sees_the_values_to_paste(
    page, live_server, transactional_db, organization, idp, settings
):
    settings.PUBLIC_BASE_URL = live_server.url
    provision_group(organization, "Kno2 Admins")
    page.set_viewport_size({"width": 390, "height": 844})
    _accept_admin_invitation(page, organization)

    page.get_by_role("link", name="Single sign-on", exact=True).click()
    page.get_by_label("Federation Metadata XML").set_input_files(
        {
            "name": "Kno2fy.xml",
            "mimeType": "text/xml",
            "buffer": idp.metadata_document.encode(),
        }
    )
    page.get_by_label("Portal group").select_option("Kno2 Admins")
    page.get_by_role("button", name="Save single sign-on").click()
    page.wait_for_selector("[data-testid=sso-state].ok")

    sp = services.service_provider(organization)
    assert page.get_by_label("Identifier (Entity ID)", exact=True).input_value() == sp.entity_id
    assert (
        page.get_by_label("Reply URL (Assertion Consumer Service URL)").input_value() == sp.acs_url
    )
    assert page.get_by_label("Sign on URL", exact=True).input_value() == sp.login_url
    test_link = page.get_by_role("button", name="Test single sign-on")
    assert test_link.get_attribute("target") == "_blank"
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert SsoConfiguration.objects.get(organization=organization).group_names == ["Kno2 Admins"]
