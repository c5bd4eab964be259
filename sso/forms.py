from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from organizations.identity import MAX_ISSUER_LENGTH, IdentityProviderKind
from organizations.models import Organization
from scim.models import ScimGroup

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


class PortalSsoForm(forms.Form):
    """The customer admin's single sign-on form: the identity provider, its metadata, the
    provisioned group whose members may sign in, and the other organizations to apply it to.
    Only the shape is checked here; the rules are ``organizations.services.set_sso_issuer`` and
    ``services.configure_sso``'s."""

    kind = forms.ChoiceField(label="Identity provider", choices=IdentityProviderKind.choices)
    issuer = forms.CharField(
        label="Issuer",
        max_length=MAX_ISSUER_LENGTH,
        help_text="Entra: Microsoft Entra Identifier; Okta: Identity Provider Issuer; "
        "other SAML 2.0: the IdP's entity id.",
    )
    metadata_url = forms.URLField(
        label="Metadata URL",
        required=False,
        max_length=1000,
        assume_scheme="https",
        help_text="Entra: App Federation Metadata Url; Okta: Metadata URL.",
    )
    metadata_file = forms.FileField(
        label="Federation Metadata XML",
        required=False,
        help_text="Or upload the metadata file the identity provider exported.",
    )
    portal_group = forms.ModelChoiceField(
        label="Portal group",
        queryset=ScimGroup.objects.none(),
        to_field_name="display_name",
        help_text="Members of this provisioned group may sign in to the portal (as viewers; "
        "admins are invited).",
    )
    allow_password_sign_in = forms.BooleanField(
        label="Also allow password sign-in",
        required=False,
        help_text="Keep it ticked until Test single sign-on succeeds: without it, people "
        "signed in with a password (you too) lose access to this organization at once.",
    )
    also_apply_to = forms.ModelMultipleChoiceField(
        label="Also apply this connection to",
        queryset=Organization.objects.none(),
        to_field_name="slug",
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(
        self,
        *args: Any,
        organization: Organization,
        others: QuerySet[Organization],
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.fields["portal_group"].queryset = ScimGroup.objects.filter(
            organization=organization
        ).order_by("display_name")
        self.fields["also_apply_to"].queryset = others

    def clean_metadata_file(self) -> str:
        upload = self.cleaned_data.get("metadata_file")
        if not upload:
            return ""
        if upload.size > settings.SSO_METADATA_MAX_BYTES:
            raise ValidationError("The metadata file is too large.", code="too_large")
        try:
            return upload.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ValidationError("The metadata file is not UTF-8 XML.", code="not_text") from None

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        given = cleaned.get("metadata_url") or cleaned.get("metadata_file")
        if not given and "metadata_file" not in self.errors:
            raise ValidationError(
                "Give the metadata URL or upload the Federation Metadata XML file."
            )
        return cleaned
