"""Staff switch single sign-on on per organization here; every change goes through services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join

from core.admin import ReadOnlyAdmin

from . import saml, services
from .models import SignInAttempt, SsoConfiguration, UnverifiedSignInCount


class SsoConfigurationForm(forms.ModelForm):
    metadata_url = forms.URLField(
        label="IdP metadata URL",
        required=False,
        assume_scheme="https",
        max_length=1000,
        help_text="Entra's App Federation Metadata URL, or Okta's metadata URL; fetched now "
        "and again by refresh_sso_metadata.",
    )
    metadata_file = forms.FileField(
        required=False, help_text="Or upload the IdP's federation metadata XML."
    )
    groups = forms.CharField(
        label="Portal groups",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="displayName of each provisioned group whose members may sign in, one a line.",
    )

    class Meta:
        model = SsoConfiguration
        fields = ["organization", "metadata_url", "enabled", "allow_password_sign_in"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["groups"].initial = "\n".join(self.instance.group_names)
            self.fields["organization"].disabled = True

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        organization = cleaned.get("organization") or getattr(self.instance, "organization", None)
        upload = cleaned.get("metadata_file")
        url = cleaned.get("metadata_url") or ""
        if upload and url:
            raise ValidationError("Give either a metadata URL or a metadata file, not both.")
        if upload:
            xml = upload.read().decode("utf-8", errors="replace")
        elif url and (
            not self.instance.pk
            or url != self.instance.metadata_url
            or "metadata_url" in self.changed_data
        ):
            xml = services.fetch_metadata(url)
        elif self.instance.pk:
            xml = self.instance.metadata_xml
        else:
            raise ValidationError("Give the IdP's metadata URL or upload its metadata file.")
        try:
            idp = saml.parse_metadata(xml)
        except saml.MetadataError as exc:
            raise ValidationError(str(exc)) from exc
        if organization is not None:
            services.check_idp_matches_issuer(organization, idp)
        cleaned["metadata_xml"] = xml
        return cleaned


class SsoConfigurationAdmin(admin.ModelAdmin):
    form = SsoConfigurationForm
    list_display = [
        "organization",
        "enabled",
        "idp_entity_id",
        "portal_groups_list",
        "allow_password_sign_in",
        "metadata_fetched_at",
    ]
    list_select_related = ["organization"]
    readonly_fields = [
        "service_provider_values",
        "idp_entity_id",
        "metadata_fetched_at",
        "metadata_refresh_error",
        "configured_at",
        "recent_attempts",
    ]
    actions = ["refresh_metadata"]

    class Media:
        js = ["sso/copy.js"]

    def get_queryset(self, request: HttpRequest):
        return super().get_queryset(request).prefetch_related("portal_groups")

    @admin.display(description="Portal groups")
    def portal_groups_list(self, obj: SsoConfiguration) -> str:
        return ", ".join(obj.group_names)

    @admin.display(description="Values for the identity provider")
    def service_provider_values(self, obj: SsoConfiguration) -> str:
        if not obj.pk:
            return "Shown once the organization is chosen and saved."
        sp = services.service_provider(obj.organization)
        idp = obj.organization.identity_provider
        rows = [
            (idp.sp_entity_id_label, "sso-entity-id", sp.entity_id),
            (idp.sp_acs_label, "sso-acs-url", sp.acs_url),
            (idp.sp_sign_on_label, "sso-login-url", sp.login_url),
            ("SP metadata URL", "sso-metadata-url", sp.metadata_url),
        ]
        where = format_html("<p>{}: {}</p>", idp.name, idp.where_sp_values)
        return where + format_html_join(
            "",
            '<div><strong>{}</strong><br><input id="{}" type="text" readonly size="70" '
            'value="{}"> <button type="button" class="button" data-copy="{}">Copy</button>'
            "</div>",
            ((label, field_id, value, field_id) for label, field_id, value in rows),
        )

    @admin.display(description="Recent sign-in attempts")
    def recent_attempts(self, obj: SsoConfiguration) -> str:
        if not obj.pk:
            return "—"
        attempts = SignInAttempt.objects.filter(organization_id=obj.organization_id)[:20]
        if not attempts:
            return "None yet."
        return format_html(
            "<ul>{}</ul>",
            format_html_join(
                "",
                "<li>{} · {}</li>",
                (
                    (f"{attempt.created_at:%Y-%m-%d %H:%M:%S}", attempt.summary)
                    for attempt in attempts
                ),
            ),
        )

    def save_model(
        self, request: HttpRequest, obj: SsoConfiguration, form: Any, change: bool
    ) -> None:
        cleaned = form.cleaned_data
        organization = cleaned.get("organization") or obj.organization
        configuration = services.configure_sso(
            organization,
            portal_groups=cleaned["groups"].splitlines(),
            actor=request.user,
            metadata_url="" if cleaned.get("metadata_file") else cleaned.get("metadata_url", ""),
            metadata_xml=cleaned["metadata_xml"],
            allow_password_sign_in=cleaned["allow_password_sign_in"],
        )
        if configuration.enabled != cleaned["enabled"]:
            services.set_enabled(configuration, cleaned["enabled"], actor=request.user)
        obj.pk = configuration.pk
        obj.refresh_from_db()

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        """Groups are saved by ``configure_sso``; there are no related forms."""

    @admin.action(description="Refresh the IdP metadata now")
    def refresh_metadata(self, request: HttpRequest, queryset) -> None:
        for configuration in queryset.select_related("organization").exclude(metadata_url=""):
            result = services.refresh_metadata(configuration)
            if result.error:
                self.message_user(request, f"{result.organization}: {result.error}", messages.ERROR)
            else:
                self.message_user(
                    request,
                    f"{result.organization}: metadata "
                    f"{'updated' if result.changed else 'unchanged'}.",
                )


class SignInAttemptAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "organization", "summary", "outcome", "client_ip"]
    list_filter = ["outcome", "reason", "organization"]
    list_select_related = ["organization"]
    search_fields = ["name_id", "organization__name", "organization__slug"]
    date_hierarchy = "created_at"


class UnverifiedSignInCountAdmin(ReadOnlyAdmin):
    """ACS posts refused before any IdP signature vouched for them: counts only, no text."""

    list_display = ["hour", "organization", "reason", "count"]
    list_filter = ["reason", "organization"]
    list_select_related = ["organization"]
    search_fields = ["organization__name", "organization__slug"]
    date_hierarchy = "hour"


admin.site.register(SsoConfiguration, SsoConfigurationAdmin)
admin.site.register(SignInAttempt, SignInAttemptAdmin)
admin.site.register(UnverifiedSignInCount, UnverifiedSignInCountAdmin)
