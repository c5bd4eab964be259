from __future__ import annotations

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError

from . import services


class PortalAuthenticationForm(AuthenticationForm):
    """The portal's password form: refused for organizations that sign in through SSO only."""

    def confirm_login_allowed(self, user: AbstractBaseUser) -> None:
        super().confirm_login_allowed(user)
        if not services.password_sign_in_allowed(user):
            raise ValidationError(
                "Your organization signs in with single sign-on: use “Sign in with your "
                "organization's SSO” below.",
                code="sso_only",
            )
