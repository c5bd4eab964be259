"""The staff flow end to end in Debian's chromium: from an unconfigured organization to a token."""

import pytest

from organizations import services
from tests import factories
from tests.factories import TOKEN_PATTERN

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ISSUER = f"https://sts.windows.net/{factories.TENANT_B}/"


def test_staff_set_issuer_enable_provisioning_and_see_a_new_token_once(live_server, page):
    factories.make_staff(username="kim", password="kim-password-1")
    organization = factories.make_organization(
        name="Hilltop Practice", slug="hilltop", tenant_id=None
    )

    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "kim")
    page.fill("#id_password", "kim-password-1")
    page.fill("#id_otp_token", factories.totp_code("kim"))
    page.click("input[type=submit][value='Log in']")

    page.goto(f"{live_server.url}/admin/organizations/organization/{organization.pk}/change/")
    page.fill("#id_sso_issuer", ISSUER)
    page.click("input[name=_continue]")
    page.get_by_role("link", name="Enable provisioning").click()
    page.get_by_role("button", name="Enable provisioning").click()
    page.get_by_text("Provisioning enabled.").wait_for()

    page.get_by_role("link", name="Issue token").click()
    page.fill("#id_label", "Azure AD production")
    page.get_by_role("button", name="Issue token").click()

    plaintext = page.input_value("#secret-token")
    assert TOKEN_PATTERN.fullmatch(plaintext)
    assert page.input_value("#tenant-url") == organization.scim_base_url
    assert services.authenticate_token(organization.public_id, plaintext) is not None
    token_page = page.url

    page.get_by_role("link", name="Back to Hilltop Practice").click()
    page.wait_for_url("**/change/")
    page.go_back()
    page.wait_for_url(token_page)
    page.wait_for_load_state()
    assert plaintext not in page.content()

    page.reload()
    page.locator("#token-gone").wait_for()
    assert page.locator("#secret-token").count() == 0
    assert plaintext not in page.content()
