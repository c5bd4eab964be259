"""Passkeys for staff in Debian's chromium, with Chrome's virtual authenticator (DevTools
WebAuthn domain) standing in for a security key: register after a TOTP sign-in, then sign in
to the admin with the passkey alone."""

from __future__ import annotations

import time

import pytest
from django_otp_webauthn.models import WebAuthnCredential

from tests import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _virtual_authenticator(page) -> None:
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )


def _wait_for_passkey(username: str) -> None:
    deadline = time.monotonic() + 10
    while not WebAuthnCredential.objects.filter(user__username=username).exists():
        assert time.monotonic() < deadline, "the passkey was never registered"
        time.sleep(0.1)


def test_staff_register_a_passkey_and_sign_in_with_it(live_server, page, settings):
    # Passkeys need a host name (never an IP address) and the origin the browser sees.
    settings.OTP_WEBAUTHN_RP_ID = "localhost"
    settings.OTP_WEBAUTHN_ALLOWED_ORIGINS = [live_server.url]
    assert live_server.url.startswith("http://localhost:")
    factories.make_staff(username="kim", password="kim-password-1")
    _virtual_authenticator(page)

    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "kim")
    page.fill("#id_password", "kim-password-1")
    page.fill("#id_otp_token", factories.totp_code("kim"))
    page.click("input[type=submit][value='Log in']")
    page.wait_for_url(f"{live_server.url}/admin/")

    page.goto(f"{live_server.url}/admin/security/")
    page.click("#passkey-register-button")
    _wait_for_passkey("kim")

    page.click("#logout-form button")
    page.goto(f"{live_server.url}/admin/login/")
    page.click("#passkey-verification-button")
    page.wait_for_url(f"{live_server.url}/admin/")
    assert page.locator("#user-tools").inner_text().startswith("WELCOME, KIM")
