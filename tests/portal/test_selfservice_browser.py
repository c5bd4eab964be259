"""End to end in Debian's chromium: a customer's administrator, invited once, sets provisioning
up alone, and sees Azure's Test Connection arrive."""

from __future__ import annotations

import json
import uuid
from io import StringIO

import pytest
import requests
from django.core.management import call_command

from organizations.models import ProvisioningToken
from portal.models import PortalMembership, PortalRole

STRONG = "Harbour-lights-1987-quiet"


def _invite(organization, email: str, role: str) -> str:
    out = StringIO()
    call_command(
        "invite_tenant_admin",
        organization.slug,
        "--email",
        email,
        "--role",
        role,
        "--json",
        stdout=out,
    )
    return json.loads(out.getvalue())["invitation_url"]


def _accept(page, url: str) -> None:
    page.goto(url)
    page.fill("#id_new_password1", STRONG)
    page.fill("#id_new_password2", STRONG)
    page.get_by_role("button", name="Accept and sign in").click()


@pytest.mark.browser
def test_an_invited_admin_creates_a_secret_token_and_sees_azures_test_connection_succeed(
    page, live_server, transactional_db, organization, settings
):
    settings.PUBLIC_BASE_URL = live_server.url
    _accept(page, _invite(organization, "it.admin@riverside.test", "admin"))
    page.wait_for_url(f"**/portal/o/{organization.slug}/")

    page.get_by_role("link", name="Provisioning", exact=True).click()
    page.get_by_role("button", name="Create a Secret Token").click()
    tenant_url = page.get_by_label("Tenant URL").input_value()
    secret_token = page.get_by_label("Secret Token").input_value()
    assert tenant_url == organization.scim_base_url
    status = page.locator("[data-testid=test-connection]")
    assert status.inner_text() == "Waiting for Test Connection"

    # Azure's Test Connection: a filter GET for a user that does not exist.
    answer = requests.get(
        f"{tenant_url}/Users",
        params={"filter": f'userName eq "{uuid.uuid4()}"'},
        headers={"Authorization": f"Bearer {secret_token}"},
        timeout=10,
    )
    assert answer.status_code == 200
    assert answer.json()["totalResults"] == 0

    page.wait_for_selector("[data-testid=test-connection].ok", timeout=15_000)
    assert "First request received: GET" in status.inner_text()
    assert "succeeded" in status.inner_text()


@pytest.mark.browser
def test_a_viewer_cannot_create_a_secret_token_even_by_posting_the_form(
    page, live_server, transactional_db, organization, settings
):
    settings.PUBLIC_BASE_URL = live_server.url
    _accept(page, _invite(organization, "viewer@riverside.test", "viewer"))
    page.wait_for_url(f"**/portal/o/{organization.slug}/")
    assert page.get_by_role("link", name="Provisioning", exact=True).count() == 0
    assert page.goto(f"{live_server.url}/portal/o/{organization.slug}/provisioning/").status == 403

    # The form an admin sees, posted from the viewer's own signed-in page.
    page.goto(f"{live_server.url}/portal/o/{organization.slug}/members/")
    with page.expect_navigation() as posted:
        page.evaluate(
            """(action) => {
            const form = document.createElement("form");
            form.method = "post";
            form.action = action;
            const csrf = document.querySelector("input[name=csrfmiddlewaretoken]");
            form.appendChild(csrf.cloneNode());
            document.body.appendChild(form);
            form.submit();
        }""",
            f"/portal/o/{organization.slug}/provisioning/tokens/",
        )
    assert posted.value.status == 403
    assert not ProvisioningToken.objects.filter(organization=organization).exists()
    membership = PortalMembership.objects.get(user__username="viewer@riverside.test")
    assert membership.role == PortalRole.VIEWER
