"""The staff member's own second factors (admin › Security) and the WebAuthn ceremonies.

The WebAuthn endpoints are django-otp-webauthn's, narrowed to staff: only a staff session that a
second factor already verified may register a passkey (so a stolen password cannot add one), and
only a staff account's passkey may sign in. Portal accounts, SSO ones included, have none.
"""

from __future__ import annotations

from django.contrib import admin
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp_webauthn import exceptions, views
from django_otp_webauthn.models import WebAuthnCredential

from core import staffsession

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


def _devices_for(user: object, code: str) -> list:
    """The devices ``code`` may be for, by its shape (as at sign-in): recovery codes or apps."""
    if mfa.RECOVERY_CODE.fullmatch(code):
        return list(
            StaticDevice.objects.select_for_update().filter(
                user=user, name=mfa.RECOVERY_DEVICE_NAME, confirmed=True
            )
        )
    return list(TOTPDevice.objects.select_for_update().filter(user=user, confirmed=True))


@never_cache
@sensitive_post_parameters("code")
def reverify_page(request: HttpRequest) -> HttpResponse:
    """Ask for the second factor again (``core.staffsession``) before a credential is issued or
    shown; then back to the page that asked. django-otp's throttling counts wrong codes."""
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = reverse("admin:index")
    error = ""
    if request.method == "POST":
        code = request.POST.get("code", "").strip()
        with transaction.atomic():
            device = next(
                (d for d in _devices_for(request.user, code) if code and d.verify_token(code)),
                None,
            )
        if device is not None:
            otp_login(request, device)
            staffsession.mark_verified(request.session)
            return HttpResponseRedirect(next_url)
        error = "That code is not right."
    context = {
        **admin.site.each_context(request),
        "title": "Confirm it is you",
        "next": next_url,
        "error": error,
    }
    return render(request, "admin/staff_reverify.html", context)
