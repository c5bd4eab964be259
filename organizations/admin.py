"""Django admin for Kno2 staff: organizations, their provisioning tokens and the audit log.

Every change goes through ``services``, so the admin validates and audits exactly like the
management commands do. A token's plaintext is shown once, on a page of its own (``reveal``);
it never appears in a list, a search, a message or a log.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Max, Q, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from core import tokens
from core.admin import ReadOnlyAdmin

from . import audit, services
from .forms import OrganizationAdminForm
from .models import TOKEN_PREFIX, AuditRecord, Organization, ProvisioningToken
from .views import OrganizationPagesMixin

# Tokens expiring this soon are flagged, so staff rotate them before Azure quarantines the job.
EXPIRY_WARNING = timedelta(days=30)


def _active_tokens(now: datetime) -> Q:
    """The ``ProvisioningTokenQuerySet.active`` condition, seen from ``Organization``."""
    return Q(tokens__revoked_at__isnull=True) & (
        Q(tokens__expires_at__isnull=True) | Q(tokens__expires_at__gt=now)
    )


def _token_expiry_html(token: ProvisioningToken) -> str:
    """A revoked or replaced token's end is no warning: only an active token's is."""
    if token.status in {"revoked", "replaced"}:
        return format_html('<span class="quiet">{}</span>', token.status_text)
    return _expiry_html(token.expires_at)


def _expiry_html(expires_at: datetime | None, now: datetime | None = None) -> str:
    if expires_at is None:
        return "—"
    now = now or timezone.now()
    text = timezone.localtime(expires_at).strftime("%Y-%m-%d %H:%M %Z")
    if expires_at <= now:
        return format_html('<strong style="color: var(--error-fg)">{} (expired)</strong>', text)
    if expires_at <= now + EXPIRY_WARNING:
        return format_html(
            '<strong style="color: var(--error-fg)">{} (in {} days)</strong>',
            text,
            (expires_at - now).days,
        )
    return text


class IssuerSetFilter(admin.SimpleListFilter):
    title = "SSO issuer"
    parameter_name = "issuer"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list:
        return [("set", "Set"), ("missing", "Not set")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "set":
            return queryset.exclude(sso_issuer="")
        if self.value() == "missing":
            return queryset.filter(sso_issuer="")
        return queryset


class TokenHealthFilter(admin.SimpleListFilter):
    """Uses the changelist's annotations, so it costs no extra query."""

    title = "tokens"
    parameter_name = "tokens"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list:
        return [("expiring", "Expiring within 30 days"), ("none", "No active token")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "expiring":
            return queryset.filter(latest_token_expiry__lte=timezone.now() + EXPIRY_WARNING)
        if self.value() == "none":
            return queryset.filter(active_token_count=0)
        return queryset


class ProvisioningTokenInline(admin.TabularInline):
    """An organization's tokens, read-only: issuing, rotating and revoking have their own pages."""

    model = ProvisioningToken
    exclude = ("digest",)
    fields = (
        "prefix",
        "label",
        "token_status",
        "expiry",
        "created_at",
        "created_by",
        "last_used_at",
        "revoked_at",
        "manage",
    )
    readonly_fields = fields
    extra = 0
    can_delete = False

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return (
            super()
            .get_queryset(request)
            .select_related("created_by", "revoked_by")
            .with_replacement()
        )

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="Token")
    def prefix(self, token: ProvisioningToken) -> str:
        return token.display_prefix

    @admin.display(description="Status")
    def token_status(self, token: ProvisioningToken) -> str:
        return token.status_text

    @admin.display(description="Expires")
    def expiry(self, token: ProvisioningToken) -> str:
        return _token_expiry_html(token)

    @admin.display(description="")
    def manage(self, token: ProvisioningToken) -> str:
        links = []
        args = [token.organization_id, token.pk]
        if token.is_active:
            links.append(
                (reverse("admin:organizations_organization_rotate_token", args=args), "Rotate…")
            )
        if not token.is_revoked:
            links.append(
                (reverse("admin:organizations_organization_revoke_token", args=args), "Revoke…")
            )
        return format_html_join(" ", '<a href="{}">{}</a>', links)


@admin.register(Organization)
class OrganizationAdmin(OrganizationPagesMixin, admin.ModelAdmin):
    form = OrganizationAdminForm
    list_display = (
        "name",
        "slug",
        "provisioning",
        "idp_kind",
        "issuer",
        "active_tokens",
        "token_expiry",
    )
    list_filter = (
        "provisioning_enabled",
        "idp_kind",
        IssuerSetFilter,
        TokenHealthFilter,
        "sso_issuer_format",
    )
    search_fields = ("name", "slug", "=public_id", "sso_tenant_id", "sso_issuer")
    list_select_related = ("provisioning_enabled_by",)
    readonly_fields = (
        "provisioning_status",
        "tenant_url",
        "public_id",
        "provisioning_enabled_at",
        "provisioning_enabled_by",
        "extension_attributes",
        "created_at",
        "updated_at",
    )
    inlines = [ProvisioningTokenInline]
    actions = ["enable_provisioning", "disable_provisioning"]

    fieldsets = [
        (None, {"fields": ("name", "slug")}),
        ("Single sign-on", {"fields": ("idp_kind", "sso_issuer")}),
        (
            "Provisioning",
            {
                "fields": (
                    "self_service_enabled",
                    "provisioning_status",
                    "tenant_url",
                    "public_id",
                    "provisioning_enabled_at",
                    "provisioning_enabled_by",
                    "extension_attributes",
                )
            },
        ),
        ("History", {"fields": ("created_at", "updated_at"), "classes": ("collapse",)}),
    ]

    def get_fieldsets(self, request: HttpRequest, obj: Organization | None = None) -> list:
        return self.fieldsets if obj is not None else self.fieldsets[:2]

    def get_inlines(self, request: HttpRequest, obj: Organization | None) -> list:
        return self.inlines if obj is not None else []

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        active = _active_tokens(timezone.now())
        return (
            super()
            .get_queryset(request)
            .annotate(
                active_token_count=Count("tokens", filter=active),
                # The newest token's end, not a replaced one's: after a rotation the old token's
                # grace period ending soon is expected, not a warning.
                latest_token_expiry=Max("tokens__expires_at", filter=active),
            )
        )

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Deleting would drop the tokens and the users Azure provisioned; disable instead."""
        return False

    # -- list columns ---------------------------------------------------------------------

    @admin.display(description="Provisioning", boolean=True, ordering="provisioning_enabled")
    def provisioning(self, organization: Organization) -> bool:
        return organization.provisioning_enabled

    @admin.display(description="SSO issuer", ordering="sso_issuer")
    def issuer(self, organization: Organization) -> str:
        return organization.sso_issuer or "—"

    @admin.display(description="Active tokens", ordering="active_token_count")
    def active_tokens(self, organization: Organization) -> int:
        return organization.active_token_count

    @admin.display(description="Token expiry", ordering="latest_token_expiry")
    def token_expiry(self, organization: Organization) -> str:
        return _expiry_html(organization.latest_token_expiry)

    # -- change form ----------------------------------------------------------------------

    @admin.display(description="Status")
    def provisioning_status(self, organization: Organization) -> str:
        if organization.provisioning_enabled:
            return "Enabled: Azure AD can provision with an active token."
        if not organization.sso_issuer:
            return "Disabled. Set the SSO issuer before enabling provisioning."
        return "Disabled: every token of this organization is refused."

    @admin.display(description="Tenant URL")
    def tenant_url(self, organization: Organization) -> str:
        return format_html("<code>{}</code>", organization.scim_base_url)

    @admin.display(description="Extension attributes Azure sends")
    def extension_attributes(self, organization: Organization) -> str:
        """The custom ``urn:…:extension:…`` attributes this organization's Azure mappings send
        (recorded by ``scim.services.note_extension_attributes``), read-only."""
        rows = [
            (
                a.resource_type,
                f"{a.schema}:{a.name}",
                a.value_type + ("[]" * a.multi_valued),
                f"{a.first_seen_at:%Y-%m-%d}",
            )
            for a in organization.scim_extension_attributes.all()
        ]
        if not rows:
            return "None yet: Azure sends only attributes of the core and enterprise schemas."
        return format_html(
            "<ul>{}</ul>",
            format_html_join("", "<li>{}: <code>{}</code> ({}, first sent {})</li>", rows),
        )

    def save_model(
        self, request: HttpRequest, obj: Organization, form: OrganizationAdminForm, change: bool
    ) -> None:
        """Save through ``services`` so that creating and editing are audited."""
        issuer = form.cleaned_data.get("sso_issuer", "")
        kind = form.cleaned_data.get("idp_kind") or obj.idp_kind
        if not change:
            created = services.create_organization(
                name=obj.name, slug=obj.slug, issuer=issuer, kind=kind, actor=request.user
            )
            obj.pk = created.pk
            obj.refresh_from_db()
            obj._state.adding = False
            return
        services.update_organization(obj, name=obj.name, slug=obj.slug, actor=request.user)
        previous = obj.identity_provider_connection
        services.set_sso_issuer(obj, issuer, kind=kind, actor=request.user)
        ended = obj.audit_records.filter(action=audit.ISSUER_SET).values_list("detail", flat=True)[
            :1
        ]
        if previous.is_set and previous != obj.identity_provider_connection:
            trust_ended = (list(ended) or [{}])[0].get("trust_ended") or []
            self.message_user(
                request,
                "The identity provider changed: the previous one is no longer trusted. "
                + ("; ".join(trust_ended).capitalize() + ". " if trust_ended else "")
                + "Configure single sign-on again with the new identity provider's metadata.",
                messages.WARNING,
            )
        if "self_service_enabled" in form.cleaned_data:
            services.set_self_service(
                obj, form.cleaned_data["self_service_enabled"], actor=request.user
            )

    # -- actions --------------------------------------------------------------------------

    @admin.action(
        description="Enable provisioning for selected organizations", permissions=["change"]
    )
    def enable_provisioning(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._switch_provisioning(request, queryset, services.enable_provisioning_for, "enabled")

    @admin.action(
        description="Disable provisioning for selected organizations", permissions=["change"]
    )
    def disable_provisioning(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._switch_provisioning(request, queryset, services.disable_provisioning_for, "disabled")

    def _switch_provisioning(
        self,
        request: HttpRequest,
        queryset: QuerySet,
        switch: Callable[..., Organization],
        done: str,
    ) -> None:
        switched = 0
        for organization in queryset:
            try:
                switch(organization, actor=request.user)
            except ValidationError as error:
                self.message_user(request, " ".join(error.messages), messages.ERROR)
            else:
                switched += 1
        if switched:
            self.message_user(
                request, f"Provisioning {done} for {switched} organization(s).", messages.SUCCESS
            )


class TokenStatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list:
        return [
            ("active", "Active"),
            ("expiring", "Active, expiring within 30 days"),
            ("expired", "Expired"),
            ("revoked", "Revoked"),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        now = timezone.now()
        if self.value() == "active":
            return queryset.active(now)
        if self.value() == "expiring":
            return queryset.active(now).filter(expires_at__lte=now + EXPIRY_WARNING)
        if self.value() == "expired":
            return queryset.filter(revoked_at__isnull=True, expires_at__lte=now)
        if self.value() == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        return queryset


@admin.register(ProvisioningToken)
class ProvisioningTokenAdmin(ReadOnlyAdmin):
    """Tokens across organizations. Nothing here can add a token or read a secret."""

    # Revocation is in the status; who created a token is on its page.
    list_display = (
        "prefix",
        "organization",
        "label",
        "token_status",
        "expiry",
        "created_at",
        "last_used_at",
    )
    list_filter = (TokenStatusFilter, ("organization", admin.RelatedOnlyFieldListFilter))
    search_fields = ("key", "label", "organization__name", "organization__slug")
    list_select_related = ("organization", "created_by", "revoked_by")
    exclude = ("digest",)
    readonly_fields = (
        "organization",
        "key",
        "label",
        "created_at",
        "created_by",
        "expires_at",
        "revoked_at",
        "revoked_by",
        "last_used_at",
    )
    date_hierarchy = "created_at"
    actions = ["revoke_selected"]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).with_replacement()

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        """``k2p_<key>…`` as listed (or a whole leaked token) finds its row by key alone."""
        key = (
            tokens.key_from_reference(search_term, TOKEN_PREFIX)
            if search_term.startswith(TOKEN_PREFIX)
            else None
        )
        if key is not None:
            return queryset.filter(key=key), False
        return super().get_search_results(request, queryset, search_term)

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("organizations.change_organization")

    @admin.display(description="Token", ordering="key")
    def prefix(self, token: ProvisioningToken) -> str:
        return token.display_prefix

    @admin.display(description="Status")
    def token_status(self, token: ProvisioningToken) -> str:
        return token.status_text

    @admin.display(description="Expires", ordering="expires_at")
    def expiry(self, token: ProvisioningToken) -> str:
        return _token_expiry_html(token)

    @admin.action(description="Revoke selected tokens", permissions=["revoke"])
    def revoke_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        revoked = [
            services.revoke_token(token, actor=request.user)
            for token in queryset.filter(revoked_at__isnull=True)
        ]
        self.message_user(request, f"Revoked {len(revoked)} token(s).", messages.SUCCESS)


@admin.register(AuditRecord)
class AuditRecordAdmin(ReadOnlyAdmin):
    """The staff audit log, read-only: records are written by ``services`` and never edited."""

    list_display = ("created_at", "action", "organization_name", "actor_name", "summary")
    list_filter = ("action", ("organization", admin.RelatedOnlyFieldListFilter))
    search_fields = ("organization_name", "actor_name")
    list_select_related = ("organization", "actor")
    readonly_fields = (
        "created_at",
        "action",
        "organization",
        "organization_name",
        "actor",
        "actor_name",
        "detail",
    )
    date_hierarchy = "created_at"
    list_per_page = 100

    @admin.display(description="Detail")
    def summary(self, record: AuditRecord) -> str:
        """``detail`` as ``name: value``; a changed field's ``[old, new]`` reads ``old → new``."""
        return format_html_join(
            "; ",
            "{}: {}",
            (
                (name, " → ".join(map(str, value)) if isinstance(value, list) else value)
                for name, value in sorted(record.detail.items())
            ),
        )
