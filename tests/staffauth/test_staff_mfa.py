"""Every staff account needs a second factor in the admin (issue 11 item 5)."""

from __future__ import annotations

import json
from io import StringIO

import pyotp
import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import Client

from portal.models import PortalMembership
from staffauth import mfa as staff_mfa
from staffauth.checks import check_staff_mfa_is_required
from tests import factories

from .soft_passkey import SoftPasskey

PASSWORD = "staff-password-1"


def test_the_admin_refuses_the_right_password_without_a_code(client, staff_user):
    assert not factories.sign_in(
        client, "/admin/login/", staff_user.username, PASSWORD, otp_token=""
    )


def test_the_admin_refuses_a_wrong_code(client, staff_user):
    assert not factories.sign_in(
        client, "/admin/login/", staff_user.username, PASSWORD, otp_token="000000"
    )


def test_the_admin_accepts_the_password_and_the_authenticator_code(client, staff_user):
    assert factories.sign_in(client, "/admin/login/", staff_user.username, PASSWORD)
    assert client.get("/admin/").status_code == 200


def test_a_staff_account_without_a_second_factor_cannot_sign_in(client, db):
    user = factories.make_staff()
    staff_mfa.enrol_totp(user, replace=True)
    user.totpdevice_set.all().delete()
    assert not factories.sign_in(
        client, "/admin/login/", user.username, PASSWORD, otp_token="123456"
    )


def test_a_session_signed_in_by_password_alone_does_not_reach_the_admin(client, staff_user):
    client.force_login(staff_user)
    answer = client.get("/admin/organizations/organization/")
    assert answer.status_code == 302
    assert answer["Location"].startswith("/admin/login/")


def test_a_recovery_code_signs_in_once(staff_user):
    code = staff_mfa.new_recovery_codes(staff_user)[0]
    assert factories.sign_in(
        Client(), "/admin/login/", staff_user.username, PASSWORD, otp_token=code
    )
    assert not factories.sign_in(
        Client(), "/admin/login/", staff_user.username, PASSWORD, otp_token=code
    )


def test_enrol_staff_mfa_prints_a_secret_that_signs_in(client, db):
    user = factories.make_staff(username="lee")
    out = StringIO()
    call_command("enrol_staff_mfa", "lee", "--replace", "--json", stdout=out)
    printed = json.loads(out.getvalue())
    code = pyotp.TOTP(printed["totp_secret"]).now()
    assert len(printed["recovery_codes"]) == staff_mfa.RECOVERY_CODE_COUNT
    assert factories.sign_in(client, "/admin/login/", user.username, PASSWORD, otp_token=code)


def test_check_deploy_fails_when_staff_mfa_is_switched_off(settings):
    settings.STAFF_MFA_REQUIRED = False
    with pytest.raises(SystemCheckError, match="kno2prov.E020"):
        call_command("check", "--deploy", stdout=StringIO(), stderr=StringIO())


def test_the_mfa_check_is_quiet_when_required(settings):
    settings.STAFF_MFA_REQUIRED = True
    assert check_staff_mfa_is_required(None) == []


def test_a_password_only_session_cannot_register_a_passkey(client, staff_user):
    client.force_login(staff_user)
    answer = client.post("/admin/webauthn/registration/begin/")
    assert answer.status_code == 403


def test_a_portal_account_cannot_register_a_passkey(client, organization):
    user = factories.make_staff(username="tenant.admin")
    user.is_staff = user.is_superuser = False
    user.save()
    user.totpdevice_set.all().delete()
    PortalMembership.objects.create(user=user, organization=organization)
    client.force_login(user)
    answer = client.post("/admin/webauthn/registration/begin/")
    assert answer.status_code == 403


def test_a_verified_staff_session_may_begin_registering_a_passkey(client, staff_user):
    factories.staff_sign_in(client, staff_user)
    answer = client.post("/admin/webauthn/registration/begin/")
    assert answer.status_code == 200
    assert answer.json()["rp"]["id"]


def test_the_security_page_shows_new_recovery_codes_once(client, staff_user):
    factories.staff_sign_in(client, staff_user)
    page = client.post("/admin/security/", {"action": "recovery_codes"}).content.decode()
    codes = page.split('<pre id="recovery-codes">')[1].split("</pre>")[0].split()
    assert len(codes) == staff_mfa.RECOVERY_CODE_COUNT
    assert codes[0] not in client.get("/admin/security/").content.decode()


def test_a_staff_account_with_no_second_factor_yet_cannot_register_a_passkey_by_password(
    client, db
):
    """django-otp-webauthn lets an account with no device register one after a password alone;
    a staff password must never be enough to add a second factor."""
    user = factories.make_staff()
    user.totpdevice_set.all().delete()
    client.force_login(user)

    answer = client.post("/admin/webauthn/registration/begin/")

    assert answer.status_code == 403
    assert answer.json()["code"] == "staff_only"


def test_new_recovery_codes_make_the_old_ones_useless(client, staff_user):
    old = staff_mfa.new_recovery_codes(staff_user)
    factories.staff_sign_in(client, staff_user)

    client.post("/admin/security/", {"action": "recovery_codes"})

    for code in (old[0], old[-1]):
        assert not factories.sign_in(
            Client(), "/admin/login/", staff_user.username, PASSWORD, otp_token=code
        )


def test_a_new_authenticator_is_not_confirmed_without_its_current_code(client, staff_user):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    factories.staff_sign_in(client, staff_user)
    client.post("/admin/security/", {"action": "new_totp"})
    pending = TOTPDevice.objects.get(user=staff_user, confirmed=False)
    wrong = f"{(int(staff_mfa.current_code(pending)) + 1) % 1_000_000:06d}"

    page = client.post("/admin/security/", {"action": "confirm_totp", "code": wrong})

    assert "That code is not right" in page.content.decode()
    pending.refresh_from_db()
    assert not pending.confirmed


@pytest.fixture
def passkey(settings):
    settings.OTP_WEBAUTHN_RP_ID = "testserver"
    settings.OTP_WEBAUTHN_ALLOWED_ORIGINS = ["http://testserver"]
    return SoftPasskey(rp_id="testserver", origin="http://testserver")


def _register(client, user, passkey: SoftPasskey) -> None:
    factories.staff_sign_in(client, user)
    options = client.post("/admin/webauthn/registration/begin/").json()
    answer = client.post(
        "/admin/webauthn/registration/complete/",
        json.dumps(passkey.register(options)),
        content_type="application/json",
    )
    assert answer.status_code == 200, answer.content


def _passkey_sign_in(browser: Client, passkey: SoftPasskey):
    options = browser.post("/admin/webauthn/authentication/begin/").json()
    return browser.post(
        "/admin/webauthn/authentication/complete/",
        json.dumps(passkey.sign_in(options)),
        content_type="application/json",
    )


def test_a_staff_passkey_signs_in_to_the_admin(client, staff_user, passkey):
    _register(client, staff_user, passkey)
    browser = Client()

    answer = _passkey_sign_in(browser, passkey)

    assert answer.status_code == 200, answer.content
    assert browser.get("/admin/").status_code == 200


def test_the_passkey_of_an_account_no_longer_staff_signs_nobody_in(client, staff_user, passkey):
    _register(client, staff_user, passkey)
    staff_user.is_staff = staff_user.is_superuser = False
    staff_user.save()
    PortalMembership.objects.create(user=staff_user, organization=factories.make_organization())
    browser = Client()

    answer = _passkey_sign_in(browser, passkey)

    assert answer.status_code == 403
    assert answer.json()["code"] == "staff_only"
    assert "_auth_user_id" not in browser.session
