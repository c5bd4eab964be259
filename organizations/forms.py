"""Staff forms. Each validates input only; saving goes through ``services``."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings

from .issuers import parse_issuer
from .models import Organization
from .services import MAX_EXPIRY_DAYS


class OrganizationAdminForm(forms.ModelForm):
    """The organization change form, with the SSO issuer as one text field.

    The model stores the tenant id and issuer format; staff paste the issuer string Entra ID
    shows, and ``parse_issuer`` explains what is wrong with a bad one.
    """

    sso_issuer = forms.CharField(
        label="SSO issuer",
        required=False,
        max_length=200,
        widget=forms.TextInput(
            attrs={"size": 70, "placeholder": "https://sts.windows.net/<tenant-id>/"}
        ),
        help_text=(
            "The Microsoft Entra Identifier from the customer's Kno2fy single sign-on setup: "
            "https://sts.windows.net/&lt;tenant-id&gt;/ (or "
            "https://login.microsoftonline.com/&lt;tenant-id&gt;/v2.0). Provisioning needs it."
        ),
    )

    class Meta:
        model = Organization
        fields = ["name", "slug"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["sso_issuer"].initial = self.instance.sso_issuer

    def clean_sso_issuer(self) -> str:
        value = self.cleaned_data["sso_issuer"].strip()
        if not value:
            if self.instance.pk and self.instance.provisioning_enabled:
                raise forms.ValidationError(
                    "Provisioning is enabled, and it needs the SSO issuer. Disable provisioning "
                    "before clearing the issuer."
                )
            return ""
        return parse_issuer(value).url


class RotateTokenForm(forms.Form):
    """How long the replacement token lives; the default is read when the form is built."""

    expires_days = forms.IntegerField(
        label="Expires in (days)",
        min_value=1,
        max_value=MAX_EXPIRY_DAYS,
        help_text=(
            "Azure AD quarantines the provisioning job when its token expires; rotate before then."
        ),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["expires_days"].initial = settings.TOKEN_DEFAULT_EXPIRY_DAYS


class IssueTokenForm(RotateTokenForm):
    label = forms.CharField(
        required=False,
        max_length=100,
        help_text="Where the token goes, e.g. “Azure AD production job”. Never the token itself.",
    )

    field_order = ["label", "expires_days"]
