"""A second factor for every Kno2 staff account in the admin (django-otp, django-otp-webauthn).

The admin site is django-otp's ``OTPAdminSite``: a staff session reaches the admin only once it is
verified by one of the user's confirmed devices: an authenticator app (TOTP), a passkey or
security key (WebAuthn), or a single-use recovery code. ``STAFF_MFA_REQUIRED`` switches this off
for local experiments only; the deploy check refuses it off in production.
"""

from __future__ import annotations

import base64
import re
import secrets
from dataclasses import dataclass
from urllib.parse import quote

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django_otp.admin import OTPAdminAuthenticationForm, OTPAdminSite
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

RECOVERY_CODE_COUNT = 10
RECOVERY_DEVICE_NAME = "Recovery codes"
RECOVERY_CODE = re.compile(r"[0-9a-f]{7}-[0-9a-f]{7}")


@dataclass(frozen=True)
class TotpEnrolment:
    device: TOTPDevice
    secret: str  # base32, what an authenticator app takes
    uri: str  # otpauth://totp/..., what a QR code would carry


def totp_secret(device: TOTPDevice) -> str:
    """The base32 secret an authenticator app is given for ``device``."""
    return base64.b32encode(bytes.fromhex(device.key)).decode().rstrip("=")


def current_code(device: TOTPDevice) -> str:
    """The code ``device``'s authenticator app shows now."""
    from django_otp.oath import totp

    return f"{totp(device.bin_key, step=device.step, digits=device.digits):0{device.digits}d}"


def _otpauth_uri(user: AbstractBaseUser, secret: str) -> str:
    issuer = settings.OTP_TOTP_ISSUER
    label = quote(f"{issuer}:{user.get_username()}")
    return f"otpauth://totp/{label}?secret={secret}&issuer={quote(issuer)}&digits=6&period=30"


@transaction.atomic
def enrol_totp(
    user: AbstractBaseUser,
    *,
    name: str = "Authenticator app",
    replace: bool = False,
    confirmed: bool = True,
) -> TotpEnrolment:
    """Give ``user`` a new authenticator-app device; ``replace`` drops their earlier ones."""
    if replace:
        TOTPDevice.objects.filter(user=user).delete()
    device = TOTPDevice.objects.create(user=user, name=name, confirmed=confirmed)
    secret = totp_secret(device)
    return TotpEnrolment(device, secret, _otpauth_uri(user, secret))


@transaction.atomic
def new_recovery_codes(user: AbstractBaseUser) -> list[str]:
    """Replace ``user``'s recovery codes with fresh ones; each works once. Shown only now."""
    device, _ = StaticDevice.objects.get_or_create(
        user=user, name=RECOVERY_DEVICE_NAME, defaults={"confirmed": True}
    )
    device.token_set.all().delete()
    codes = [
        f"{secrets.token_hex(4)[:7]}-{secrets.token_hex(4)[:7]}"  # 56 bits, fits the column
        for _ in range(RECOVERY_CODE_COUNT)
    ]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


def has_second_factor(user: AbstractBaseUser) -> bool:
    from django_otp import user_has_device

    return user_has_device(user, confirmed=True)


class StaffLoginForm(OTPAdminAuthenticationForm):
    """Username, password and the code of an authenticator app or a recovery code, in one step.

    django-otp asks the user to pick a device first (so a wrong code is never counted against
    every device); the kind of code already says which: a recovery code is ``xxxxxxx-xxxxxxx``,
    an app code six digits. Staff with several apps still pick one from the list.
    """

    def _chosen_device(self, user: AbstractBaseUser):  # noqa: ANN202  (django-otp's hook)
        device = super()._chosen_device(user)
        if device is not None:
            return device
        token = (self.cleaned_data.get("otp_token") or "").strip()
        if RECOVERY_CODE.fullmatch(token):
            return (
                StaticDevice.objects.select_for_update()
                .filter(user=user, name=RECOVERY_DEVICE_NAME, confirmed=True)
                .first()
            )
        apps = list(TOTPDevice.objects.select_for_update().filter(user=user, confirmed=True)[:2])
        return apps[0] if len(apps) == 1 else None

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["otp_token"].label = "Code from your authenticator app, or a recovery code"
        self.fields["otp_token"].widget.attrs.update(
            {"autocomplete": "one-time-code", "inputmode": "text"}
        )


class StaffMfaAdminSite(OTPAdminSite):
    """The admin, open only to staff sessions verified by a second factor."""

    login_form = StaffLoginForm
    login_template = "admin/staff_mfa_login.html"

    def __init__(self, name: str = "admin") -> None:
        super().__init__(name)

    def get_urls(self):  # noqa: ANN201  (Django's signature)
        from django.urls import path

        from .views import reverify_page, security_page

        return [
            path("security/", self.admin_view(security_page), name="staff_security"),
            path("reverify/", self.admin_view(reverify_page), name="staff_reverify"),
            *super().get_urls(),
        ]
