"""Staff admin for OAuth credentials: issue a client, show its secret once, rotate, revoke, and
configure workload identity federation. Every change goes through ``oauth``.

The pages sit beside the organization's other staff pages: ``organizations`` does not know
OAuth, so this module mixes ``OAuthPagesMixin`` into its ``OrganizationAdmin`` and registers
the result, ``OrganizationWithOAuthAdmin``. They show exactly the fields of Entra's non-gallery
"OAuth 2.0 client credentials grant" form, each with a copy button.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Max, Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.utils.html import format_html, format_html_join
from django.views.decorators.debug import sensitive_variables

from core import reveal
from core.staffsession import second_factor_recently_verified
from organizations.admin import OrganizationAdmin
from organizations.models import Organization

from . import services as oauth
from .credentials import OAUTH_CLIENT, WORKLOAD_IDENTITY
from .federation import expected_issuer
from .models import OAuthClient, OAuthClientSecret

if TYPE_CHECKING:
    _ModelAdmin = admin.ModelAdmin
else:
    _ModelAdmin = object

CREDENTIALS_SENT = "Header (client_secret_basic), Body (client_secret_post) or Both: all work."


REVEAL_PURPOSE = "oauth-client-secret"


class SecretExpiryForm(forms.Form):
    expires_days = forms.IntegerField(
        label="Secret expires in (days)",
        min_value=oauth.MIN_SECRET_DAYS,
        max_value=oauth.MAX_SECRET_DAYS,
        help_text="One to three years (Entra's rule). Rotate before it expires.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["expires_days"].initial = settings.OAUTH_CLIENT_SECRET_EXPIRY_DAYS


class IssueOAuthClientForm(SecretExpiryForm):
    label = forms.CharField(
        required=False, max_length=100, help_text="Where it goes, e.g. “Entra production job”."
    )
    field_order = ["label", "expires_days"]


class WorkloadIdentityForm(forms.Form):
    issuer = forms.CharField(
        max_length=200,
        help_text="The organization's Entra tenant: "
        "https://login.microsoftonline.com/<tenant id>/v2.0.",
    )
    subject = forms.CharField(
        max_length=200,
        help_text="The object id of Entra's provisioning workload identity (the assertion's sub).",
    )
    audience = forms.CharField(
        max_length=200,
        help_text="The Application (client) ID (bare GUID, as v2 tokens carry it) or "
        "api://<that id>: the token's aud.",
    )
    jwks_url = forms.URLField(
        required=False,
        max_length=300,
        label="JWKS URL",
        assume_scheme="https",
        help_text="Only for sovereign clouds; normally found through the "
        "issuer's OpenID discovery document.",
    )
    label = forms.CharField(required=False, max_length=100)


class OAuthClientInline(admin.TabularInline):
    """An organization's OAuth clients, read-only; changes have their own pages."""

    model = OAuthClient
    fk_name = "organization"
    fields = (
        "client_id",
        "kind",
        "label",
        "client_status",
        "secret_expiry",
        "assertion",
        "created_at",
        "last_used_at",
        "manage",
    )
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name_plural = "OAuth clients (client credentials, workload identity federation)"

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        now = timezone.now()
        return (
            super()
            .get_queryset(request)
            .annotate(
                latest_secret_expiry=Max(
                    "secrets__expires_at",
                    filter=Q(secrets__revoked_at__isnull=True, secrets__expires_at__gt=now),
                ),
            )
        )

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="Status")
    def client_status(self, client: OAuthClient) -> str:
        return client.status

    @admin.display(description="Secret expires")
    def secret_expiry(self, client: OAuthClient) -> str:
        # Imported here: ``admin`` imports this module to mount the inline.
        from organizations.admin import _expiry_html

        if client.kind != OAUTH_CLIENT.kind:
            return "—"
        return (
            _expiry_html(client.latest_secret_expiry)
            if client.latest_secret_expiry
            else "no active secret"
        )

    @admin.display(description="Assertion (iss / sub / aud)")
    def assertion(self, client: OAuthClient) -> str:
        if client.kind != WORKLOAD_IDENTITY.kind:
            return "—"
        return format_html(
            "<code>{}</code><br><code>{}</code><br><code>{}</code>",
            client.issuer,
            client.subject,
            client.audience,
        )

    @admin.display(description="")
    def manage(self, client: OAuthClient) -> str:
        if not client.is_active:
            return ""
        args = [client.organization_id, client.pk]
        links = []
        if client.kind == OAUTH_CLIENT.kind:
            links.append(
                (
                    reverse("admin:organizations_organization_rotate_client_secret", args=args),
                    "Rotate secret…",
                )
            )
        links.append(
            (reverse("admin:organizations_organization_revoke_oauth_client", args=args), "Revoke…")
        )
        return format_html_join(" ", '<a href="{}">{}</a>', links)


class OAuthPagesMixin(_ModelAdmin):
    """Mixed into ``OrganizationAdmin`` beside ``OrganizationPagesMixin``."""

    def get_urls(self) -> list[URLPattern]:
        def view(function: Any, suffix: str, route: str) -> URLPattern:
            return path(
                f"<path:object_id>/{route}",
                self.admin_site.admin_view(function),
                name=f"organizations_organization_{suffix}",
            )

        return [
            view(self.issue_oauth_client_view, "issue_oauth_client", "issue-oauth-client/"),
            view(self.oauth_client_view, "oauth_client", "oauth-clients/<int:client_id>/"),
            view(
                self.rotate_client_secret_view,
                "rotate_client_secret",
                "oauth-clients/<int:client_id>/rotate/",
            ),
            view(
                self.revoke_oauth_client_view,
                "revoke_oauth_client",
                "oauth-clients/<int:client_id>/revoke/",
            ),
            view(self.workload_identity_view, "workload_identity", "workload-identity/"),
        ] + super().get_urls()

    def _client(self, organization: Organization, client_id: int) -> OAuthClient:
        return get_object_or_404(OAuthClient, pk=client_id, organization=organization)

    def _client_url(self, client: OAuthClient, secret: OAuthClientSecret | None = None) -> str:
        url = reverse(
            "admin:organizations_organization_oauth_client",
            args=[client.organization_id, client.pk],
        )
        return f"{url}?secret={secret.pk}" if secret is not None else url

    @second_factor_recently_verified
    @sensitive_variables()
    def issue_oauth_client_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        organization = self._organization(request, object_id)
        form = IssueOAuthClientForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                client, secret, plaintext = oauth.issue_oauth_client(
                    organization,
                    actor=request.user,
                    label=form.cleaned_data["label"],
                    expires_days=form.cleaned_data["expires_days"],
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                reveal.stash(request.session, REVEAL_PURPOSE, secret.pk, plaintext)
                return HttpResponseRedirect(self._client_url(client, secret))
        return self._confirm(
            request,
            organization,
            title=f"Issue an OAuth client for {organization}",
            form=form,
            submit="Issue OAuth client",
            explanation=(
                "Entra's “OAuth 2.0 client credentials grant”: a client id and a secret "
                "(shown once, on the next page) that Entra exchanges at our token "
                "endpoint for access tokens."
            ),
        )

    @sensitive_variables()
    def oauth_client_view(
        self, request: HttpRequest, object_id: str, client_id: int
    ) -> HttpResponse:
        """The values for Entra's form; a new secret's plaintext only the one time it is in
        the session."""
        organization = self._organization(request, object_id)
        client = self._client(organization, client_id)
        secret = plaintext = None
        secret_pk = request.GET.get("secret", "")
        if secret_pk.isdigit():
            secret = OAuthClientSecret.objects.filter(client=client, pk=int(secret_pk)).first()
            if secret is not None:
                plaintext = reveal.pop(request.session, REVEAL_PURPOSE, secret.pk)
        try:
            response = self._page(
                request,
                "oauth/oauthclient_detail.html",
                organization,
                f"{client.get_kind_display()} for {organization}",
                client=client,
                secret=secret,
                plaintext=plaintext,
                tenant_url=organization.scim_base_url,
                token_endpoint=oauth.token_endpoint_url(organization),
                credentials_sent=CREDENTIALS_SENT,
            )
        except Exception as error:
            raise RuntimeError(
                f"Rendering the client page failed: {type(error).__name__}"
            ) from None
        patch_cache_control(
            response, no_store=True, no_cache=True, must_revalidate=True, private=True, max_age=0
        )
        return response

    @second_factor_recently_verified
    @sensitive_variables()
    def rotate_client_secret_view(
        self, request: HttpRequest, object_id: str, client_id: int
    ) -> HttpResponse:
        organization = self._organization(request, object_id)
        client = self._client(organization, client_id)
        form = SecretExpiryForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                secret, plaintext = oauth.rotate_client_secret(
                    client, actor=request.user, expires_days=form.cleaned_data["expires_days"]
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                reveal.stash(request.session, REVEAL_PURPOSE, secret.pk, plaintext)
                return HttpResponseRedirect(self._client_url(client, secret))
        grace = settings.TOKEN_ROTATION_GRACE_DAYS
        return self._confirm(
            request,
            organization,
            title=f"Rotate the secret of {client}",
            form=form,
            submit="Rotate secret",
            explanation=(
                f"A new secret is added to {client}. The current one, and the access "
                f"tokens obtained with it, keep working for {grace} more day(s), then "
                "stop."
            ),
        )

    def revoke_oauth_client_view(
        self, request: HttpRequest, object_id: str, client_id: int
    ) -> HttpResponse:
        organization = self._organization(request, object_id)
        client = self._client(organization, client_id)
        if request.method == "POST":
            oauth.revoke_oauth_client(client, actor=request.user)
            self.message_user(
                request,
                f"Revoked {client}: its access tokens are refused from now on.",
                messages.SUCCESS,
            )
            return HttpResponseRedirect(self._change_url(organization))
        return self._confirm(
            request,
            organization,
            title=f"Revoke {client}",
            submit="Revoke client",
            danger=True,
            explanation=(
                f"{client} ({client.get_kind_display()}) and every access token it "
                "obtained stop working at once."
            ),
        )

    def workload_identity_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        organization = self._organization(request, object_id)
        current = (
            OAuthClient.objects.active()
            .filter(organization=organization, kind=WORKLOAD_IDENTITY.kind)
            .first()
        )
        initial = (
            {
                "issuer": current.issuer,
                "subject": current.subject,
                "audience": current.audience,
                "jwks_url": current.jwks_url,
                "label": current.label,
            }
            if current
            else {
                "issuer": expected_issuer(organization.sso_tenant_id)
                if organization.sso_tenant_id
                else ""
            }
        )
        form = WorkloadIdentityForm(request.POST or None, initial=initial)
        if request.method == "POST" and form.is_valid():
            try:
                client = oauth.configure_workload_identity(
                    organization, actor=request.user, **form.cleaned_data
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                return HttpResponseRedirect(self._client_url(client))
        return self._confirm(
            request,
            organization,
            title=f"Workload identity federation for {organization}",
            form=form,
            submit="Save federation",
            explanation=(
                "Entra signs a client assertion for its provisioning workload identity; "
                "we accept it when its issuer, subject and audience are these. No "
                "secret is shared. Saving again keeps the client id and revokes the "
                "access tokens issued before."
            ),
        )


@admin.register(OAuthClient)
class OAuthClientAdmin(admin.ModelAdmin):
    """Every organization's OAuth clients, to find one by client id and revoke it."""

    list_display = (
        "client_id",
        "organization",
        "kind",
        "label",
        "status",
        "created_at",
        "last_used_at",
        "revoked_at",
    )
    list_filter = ("kind", ("revoked_at", admin.EmptyFieldListFilter))
    search_fields = ("=client_id", "organization__name", "organization__slug", "label")
    list_select_related = ("organization",)
    readonly_fields = (
        "client_id",
        "organization",
        "kind",
        "label",
        "issuer",
        "subject",
        "audience",
        "jwks_url",
        "created_at",
        "created_by",
        "revoked_at",
        "revoked_by",
        "last_used_at",
    )
    actions = ["revoke_selected"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("oauth.change_oauthclient")

    @admin.action(description="Revoke selected OAuth clients", permissions=["revoke"])
    def revoke_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        revoked = [
            oauth.revoke_oauth_client(client, actor=request.user)
            for client in queryset.filter(revoked_at__isnull=True)
        ]
        self.message_user(request, f"Revoked {len(revoked)} OAuth client(s).", messages.SUCCESS)


class OrganizationWithOAuthAdmin(OAuthPagesMixin, OrganizationAdmin):
    """The organization admin with its OAuth pages and clients: ``organizations`` does not
    know OAuth, so this app extends its admin instead."""

    inlines = [*OrganizationAdmin.inlines, OAuthClientInline]


admin.site.unregister(Organization)
admin.site.register(Organization, OrganizationWithOAuthAdmin)
