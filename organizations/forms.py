"""Staff forms. Each validates input only; saving goes through ``services``."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.utils.html import escape

from .identity import ENTRA, MAX_ISSUER_LENGTH, RULES, IdentityProviderKind, rules_for
from .models import Organization
from .services import MAX_EXPIRY_DAYS


class OrganizationAdminForm(forms.ModelForm):
    """The organization change form, with the identity provider as a kind and one issuer field.

    Staff choose the kind and paste the issuer (or entity id) the customer's IdP shows; the
    kind's rules (``organizations.identity``) parse it and explain what is wrong with a bad one.
    Saving goes through ``services.set_sso_issuer``, which ends the old IdP's trust on a change.
    """

    idp_kind = forms.ChoiceField(
        label="Identity provider",
        required=False,
        choices=IdentityProviderKind.choices,
        initial=IdentityProviderKind.ENTRA,
        help_text=(
            "Where the customer's users sign in. Changing it, or the issuer, disables single "
            "sign-on and workload identity federation set up for the previous one."
        ),
    )
    sso_issuer = forms.CharField(
        label="SSO issuer / entity id",
        required=False,
        max_length=MAX_ISSUER_LENGTH,
        widget=forms.TextInput(attrs={"size": 70, "placeholder": ENTRA.issuer_placeholder}),
        help_text=" ".join(f"{rules.name}: {escape(rules.issuer_help)}" for rules in RULES.values())
        + " Provisioning needs it.",
    )

    class Meta:
        model = Organization
        fields = ["name", "slug"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["idp_kind"].initial = self.instance.idp_kind
        self.fields["sso_issuer"].initial = self.instance.sso_issuer

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        kind = cleaned.get("idp_kind") or self.instance.idp_kind
        value = (cleaned.get("sso_issuer") or "").strip()
        if not value:
            if self.instance.pk and self.instance.provisioning_enabled:
                self.add_error(
                    "sso_issuer",
                    "Provisioning is enabled, and it needs the SSO issuer. Disable provisioning "
                    "before clearing the issuer.",
                )
            cleaned["sso_issuer"] = ""
            return cleaned
        try:
            cleaned["sso_issuer"] = rules_for(kind).parse(value).issuer
        except forms.ValidationError as error:
            self.add_error("sso_issuer", error)
        return cleaned


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
