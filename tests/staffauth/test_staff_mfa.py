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
