"""The WebAuthn ceremonies under /admin/webauthn/: django-otp-webauthn's endpoints, narrowed to
staff (see ``staffauth.views``). The namespace stays ``otp_webauthn``: the library's templates and
JavaScript reverse its URLs by that name."""

from django.urls import path
from django.views.i18n import JavaScriptCatalog
from django_otp_webauthn import views

from .views import BeginRegistration, CompleteAuthentication, CompleteRegistration

app_name = "otp_webauthn"
urlpatterns = [
    path("registration/begin/", BeginRegistration.as_view(), name="credential-registration-begin"),
    path(
        "registration/complete/",
        CompleteRegistration.as_view(),
        name="credential-registration-complete",
    ),
    path(
        "authentication/begin/",
        views.BeginCredentialAuthenticationView.as_view(),
        name="credential-authentication-begin",
    ),
    path(
        "authentication/complete/",
        CompleteAuthentication.as_view(),
        name="credential-authentication-complete",
    ),
    path(
        "jsi18n/",
        JavaScriptCatalog.as_view(packages=["django_otp_webauthn"]),
        name="js-i18n-catalog",
    ),
]
