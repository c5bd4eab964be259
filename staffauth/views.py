"""The staff member's own second factors (admin › Security) and the WebAuthn ceremonies.

The WebAuthn endpoints are django-otp-webauthn's, narrowed to staff: only a staff session that a
second factor already verified may register a passkey (so a stolen password cannot add one), and
only a staff account's passkey may sign in. Portal accounts, SSO ones included, have none.
"""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_variables
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp_webauthn import exceptions, views
from django_otp_webauthn.models import WebAuthnCredential

from . import mfa

PENDING_TOTP = "staff_mfa_pending_totp"


class StaffOnly(exceptions.OTPWebAuthnApiError):
    status_code = 403
    default_code = "staff_only"
    default_detail = "Passkeys are for Kno2 staff accounts."


class StaffRegistrationMixin:
    def check_can_register(self) -> None:
        user = self.request.user
        if not (user.is_staff and user.is_verified()):
            raise StaffOnly()


class BeginRegistration(StaffRegistrationMixin, views.BeginCredentialRegistrationView):
    pass


class CompleteRegistration(StaffRegistrationMixin, views.CompleteCredentialRegistrationView):
    pass


class CompleteAuthentication(views.CompleteCredentialAuthenticationView):
    def check_device_usable(self, device: WebAuthnCredential) -> None:
        super().check_device_usable(device)
        if not device.user.is_staff:
            raise StaffOnly()


@never_cache
@sensitive_variables("codes", "enrolment")
def security_page(request: HttpRequest) -> HttpResponse:
    """Add an authenticator app or a passkey, or replace the recovery codes."""
    user = request.user
    context: dict = {}
    action = request.POST.get("action") if request.method == "POST" else None
    if action == "recovery_codes":
        context["recovery_codes"] = mfa.new_recovery_codes(user)
    elif action == "new_totp":
        enrolment = mfa.enrol_totp(user, name="Authenticator app", confirmed=False)
        request.session[PENDING_TOTP] = enrolment.device.pk
        context["enrolment"] = enrolment
    elif action == "confirm_totp":
        device = TOTPDevice.objects.filter(
            pk=request.session.get(PENDING_TOTP), user=user, confirmed=False
        ).first()
        if device is not None and device.verify_token(request.POST.get("code", "").strip()):
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            request.session.pop(PENDING_TOTP, None)
            context["confirmed"] = True
        else:
            context["confirm_error"] = "That code is not right; add the app again."
    context.update(
        {
            **admin.site.each_context(request),
            "title": "Your second factors",
            "totp_devices": TOTPDevice.objects.filter(user=user, confirmed=True),
            "passkeys": WebAuthnCredential.objects.filter(user=user),
            "recovery_left": StaticToken.objects.filter(device__user=user).count(),
        }
    )
    return render(request, "admin/staff_security.html", context)
