"""Staff issue an OAuth client in Debian's chromium and copy Entra's form values, secret once."""

import pytest

from oauth import services as oauth
from oauth.models import OAuthClient
from tests import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_staff_issue_an_oauth_client_and_copy_the_entra_values_once(live_server, page):
    factories.make_staff(username="kim", password="kim-password-1")
    organization = factories.make_organization(name="Hilltop Practice", slug="hilltop")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])

    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "kim")
    page.fill("#id_password", "kim-password-1")
    page.fill("#id_otp_token", factories.totp_code("kim"))
    page.click("input[type=submit][value='Log in']")
    page.goto(f"{live_server.url}/admin/organizations/organization/{organization.pk}/change/")
    page.get_by_role("link", name="Issue OAuth client").click()
    page.fill("#id_label", "Entra production")
    page.get_by_role("button", name="Issue OAuth client").click()

    client = OAuthClient.objects.get(organization=organization)
    secret = page.input_value("#client-secret")
    assert oauth.check_client_secret(client, secret).secret is not None
    assert page.input_value("#tenant-url") == organization.scim_base_url
    assert page.input_value("#token-endpoint") == oauth.token_endpoint_url(organization)
    assert page.input_value("#client-id") == client.client_id
    page.locator('[data-copy="client-secret"]').click()
    assert page.evaluate("navigator.clipboard.readText()") == secret

    page.reload()
    page.locator("#secret-gone").wait_for()
    assert page.locator("#client-secret").count() == 0
    assert secret not in page.content()
