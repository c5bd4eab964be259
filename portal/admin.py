"""Staff's view of every organization's sync history and health, tenant admins and API keys.

History is read-only: staff can look, never edit. A history API key's plaintext and a tenant
admin's set-password link are rendered once on the page that follows their creation; neither
goes through messages, lists or logs.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from core.admin import ReadOnlyAdmin, RevealOnceMixin
from core.staffsession import second_factor_recently_verified

from . import services
from .health import Health, organization_health, organizations_health
from .models import (
    HistoryApiKey,
    Invitation,
    OrganizationHealth,
    PortalMembership,
    PortalRole,
    SetPasswordLink,
    SyncCycle,
    SyncEvent,
    TenantAdmin,
)


@admin.register(SyncEvent)
class SyncEventAdmin(ReadOnlyAdmin):
    # The columns staff search and sort by; the token and duration are on the event's page.
    list_display = (
        "created_at",
        "organization",
        "summary",
        "status_code",
        "error_type",
        "request_id",
    )
    list_filter = ("succeeded", "operation", "resource_type", "organization")
    search_fields = ("=subject", "=resource_id", "=request_id", "=external_id")
    list_select_related = ("organization",)
    list_per_page = 100
    date_hierarchy = "created_at"
    # A COUNT(*) over millions of events on every page load is the slow part; skip it.
    show_full_result_count = False
    readonly_fields = [field.name for field in SyncEvent._meta.fields]


@admin.register(SyncCycle)
class SyncCycleAdmin(ReadOnlyAdmin):
    list_display = (
        "started_at",
        "organization",
        "last_event_at",
        "events",
        "created",
        "updated",
        "deactivated",
        "deleted",
        "membership_changes",
        "failures",
    )
    list_filter = ("organization",)
    list_select_related = ("organization",)
    list_per_page = 100
    date_hierarchy = "started_at"
    readonly_fields = [field.name for field in SyncCycle._meta.fields]


@admin.register(OrganizationHealth)
class OrganizationHealthAdmin(ReadOnlyAdmin):
    list_display = (
        "name",
        "provisioning_enabled",
        "health",
        "failure_rate",
        "test_connection",
        "refused_authentications",
        "history",
    )
    search_fields = ("name", "slug")
    fields = (
        "name",
        "slug",
        "provisioning_enabled",
        "health",
        "findings",
        "failure_rate",
        "test_connection",
        "refused_authentications",
        "history",
    )
    readonly_fields = fields

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.is_staff

    def _health(self, obj: OrganizationHealth) -> Health:
        # One health per row and per request: the columns below share it.
        cache = getattr(self, "_health_cache", {})
        if obj.pk not in cache:
            cache[obj.pk] = organization_health(obj)
            self._health_cache = cache
        return cache[obj.pk]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        self._health_cache = {}
        return super().get_queryset(request)

    def get_changelist_instance(self, request: HttpRequest) -> Any:
        """The page's organizations get their health in one batch (a fixed number of queries)."""
        changelist = super().get_changelist_instance(request)
        self._health_cache = organizations_health(changelist.result_list)
        return changelist

    @admin.display(description="Health")
    def health(self, obj: OrganizationHealth) -> str:
        found = self._health(obj)
        colour = {
            "ok": "green",
            "warning": "darkorange",
            "critical": "firebrick",
            "waiting": "steelblue",
            "off": "gray",
        }[found.level]
        # The verdicts keep their one-word name; the two states are spelled out.
        shown = found.level if found.level in {"ok", "warning", "critical"} else found.label
        return format_html('<strong style="color: {}">{}</strong>', colour, shown)

    @admin.display(description="Findings")
    def findings(self, obj: OrganizationHealth) -> str:
        found = self._health(obj).findings
        if not found:
            return self._health(obj).state_notice or "No problems found."
        return format_html(
            "<ul>{}</ul>", format_html_join("", "<li><strong>{}</strong>: {}</li>", found)
        )

    @admin.display(description="Failures (recent)")
    def failure_rate(self, obj: OrganizationHealth) -> str:
        health = self._health(obj)
        return f"{health.failures} of {health.events} ({health.failure_percent})"

    @admin.display(description="Last Test Connection")
    def test_connection(self, obj: OrganizationHealth) -> str:
        event = self._health(obj).last_test_connection
        if event is None:
            return "—"
        outcome = "succeeded" if event.succeeded else f"failed ({event.status_code})"
        return f"{timezone.localtime(event.created_at):%Y-%m-%d %H:%M} {outcome}"

    @admin.display(description="Invalid tokens (recent)")
    def refused_authentications(self, obj: OrganizationHealth) -> str:
        return self._health(obj).failed_authentication_note or "—"

    @admin.display(description="History")
    def history(self, obj: OrganizationHealth) -> str:
        url = reverse("admin:portal_syncevent_changelist")
        return format_html('<a href="{}?organization__id__exact={}">Events</a>', url, obj.pk)


class PortalMembershipForm(forms.ModelForm):
    # Left empty, a new membership is a viewer and an existing one keeps its role.
    role = forms.ChoiceField(
        choices=[("", "---------"), *PortalRole.choices], required=False, initial=PortalRole.VIEWER
    )

    class Meta:
        model = PortalMembership
        fields = ["organization", "role"]


class PortalMembershipInline(admin.TabularInline):
    model = PortalMembership
    form = PortalMembershipForm
    fk_name = "user"
    extra = 1
    fields = ("organization", "role", "created_at", "created_by")
    readonly_fields = ("created_at", "created_by")
    # Picked by name, not by numeric id (the organization admin's search answers).
    autocomplete_fields = ("organization",)


@admin.register(TenantAdmin)
class TenantAdminAdmin(admin.ModelAdmin):
    """Customer administrators who sign in to ``/portal/``; staff never set their password.

    Accounts and memberships are written by ``portal.services``. A set-password link exists
    only once staff with change permission run "Create set-password link"; it is shown on the
    page that follows, once, and is never part of the account's page.
    """

    list_display = ("username", "email", "organizations", "is_active", "has_password", "last_login")
    search_fields = ("username", "email")
    list_filter = ("is_active",)
    fields = (
        "username",
        "email",
        "first_name",
        "last_name",
        "is_active",
        "set_password_link",
        "last_login",
        "date_joined",
    )
    readonly_fields = ("set_password_link", "last_login", "date_joined")
    inlines = [PortalMembershipInline]
    actions = ["create_set_password_links"]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return (
            super()
            .get_queryset(request)
            .filter(is_staff=False, is_superuser=False)
            .prefetch_related("portal_memberships__organization")
        )

    @admin.display(description="Organizations")
    def organizations(self, obj: TenantAdmin) -> str:
        return ", ".join(m.organization.name for m in obj.portal_memberships.all())

    @admin.display(description="Password set", boolean=True)
    def has_password(self, obj: TenantAdmin) -> bool:
        return obj.has_usable_password()

    @admin.display(description="Set-password link")
    def set_password_link(self, obj: TenantAdmin) -> str:
        """Whether a link is out, never the link itself."""
        if obj.pk is None:
            return "Save first."
        if obj.has_usable_password():
            return "The password is set; no link works."
        link = SetPasswordLink.objects.usable().filter(user=obj).first()
        if link is None:
            return (
                "No working link. Select the account in the list and run "
                "“Create set-password link” to send them one."
            )
        return (
            f"A link created {timezone.localtime(link.created_at):%Y-%m-%d %H:%M} "
            f"works until {timezone.localtime(link.expires_at):%Y-%m-%d %H:%M}, once."
        )

    def save_model(self, request: HttpRequest, obj: TenantAdmin, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        created = services.create_tenant_admin(
            username=obj.username,
            email=obj.email,
            first_name=obj.first_name,
            last_name=obj.last_name,
            is_active=obj.is_active,
            organizations=[],
            actor=request.user,
        )
        obj.pk = created.pk
        obj.password = created.password
        obj._state.adding = False

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        rows = [
            row
            for row in formset.cleaned_data
            if row and row.get("organization") and not row.get("DELETE")
        ]
        services.set_memberships(
            form.instance,
            [row["organization"] for row in rows],
            actor=request.user,
            roles={row["organization"].pk: row["role"] for row in rows if row.get("role")},
        )
        # The admin's change message reads what formset.save() would have set.
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []

    def response_add(
        self, request: HttpRequest, obj: TenantAdmin, post_url_continue: str | None = None
    ) -> HttpResponse:
        """Land on the new account's page, which says how to send them a set-password link."""
        if "_addanother" in request.POST or "_popup" in request.POST:
            return super().response_add(request, obj, post_url_continue)
        self.message_user(
            request,
            f"Tenant admin {obj.username} created. To let them set their password, "
            "select them in the list and run “Create set-password link”.",
            messages.SUCCESS,
        )
        return redirect("admin:portal_tenantadmin_change", obj.pk)

    @admin.action(description="Create set-password link", permissions=["change"])
    @second_factor_recently_verified
    def create_set_password_links(
        self, request: HttpRequest, queryset: QuerySet
    ) -> HttpResponse | None:
        """New one-time links for the selected accounts without a password, shown once."""
        created, refused = [], []
        for user in queryset:
            try:
                _, url = services.create_set_password_link(user, actor=request.user)
                created.append((user, url))
            except services.SetPasswordLinkRefused as refusal:
                refused.append(str(refusal))
        for reason in refused:
            self.message_user(request, reason, messages.WARNING)
        if not created:
            return None
        response = render(
            request,
            "portal/setpasswordlink_reveal.html",
            {
                **self.admin_site.each_context(request),
                "links": created,
                "opts": self.model._meta,
                "title": "Set-password links",
                "hours": settings.PORTAL_SET_PASSWORD_LINK_HOURS,
            },
        )
        response["Cache-Control"] = "no-store"
        return response


@admin.register(HistoryApiKey)
class HistoryApiKeyAdmin(RevealOnceMixin, admin.ModelAdmin):
    """API keys for a customer's SIEM; issued through ``services``, revoked, never deleted.
    A new key is shown once, on its own page (``core.reveal``)."""

    reveal_purpose = "history-api-key"
    reveal_template = "portal/historyapikey_reveal.html"
    reveal_noun = "API key"

    list_display = (
        "display_prefix",
        "organization",
        "label",
        "status",
        "created_at",
        "created_by",
        "last_used_at",
    )
    list_filter = ("revoked_at",)
    search_fields = ("key", "label", "organization__name")
    list_select_related = ("organization", "created_by")
    raw_id_fields = ("organization",)
    exclude = ("digest",)
    readonly_fields = ("key", "created_at", "created_by", "last_used_at", "revoked_at")
    actions = ["revoke_selected"]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        if obj is None:
            return ["organization", "label"]
        return ["organization", "label", *self.readonly_fields]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        if obj is None:
            return ()
        return ("organization", *self.readonly_fields)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="Status", ordering="revoked_at")
    def status(self, api_key: HistoryApiKey) -> str:
        if api_key.revoked_at is None:
            return "active (does not expire)"
        return f"revoked {timezone.localtime(api_key.revoked_at):%Y-%m-%d %H:%M %Z}"

    def get_actions(self, request: HttpRequest) -> dict:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def save_model(self, request: HttpRequest, obj: HistoryApiKey, form: Any, change: bool) -> None:
        if change:
            obj.save(update_fields=["label"])
            return
        issued, plaintext = services.issue_history_api_key(
            obj.organization, actor=request.user, label=obj.label
        )
        obj.pk = issued.pk
        self.stash_secret(request, issued, plaintext)
        obj._secret_stashed = True

    def response_add(
        self, request: HttpRequest, obj: HistoryApiKey, post_url_continue: str | None = None
    ) -> HttpResponse:
        if getattr(obj, "_secret_stashed", False):
            return HttpResponseRedirect(self.reveal_url(obj))
        return super().response_add(request, obj, post_url_continue)

    def reveal_context(self, request: HttpRequest, obj: HistoryApiKey) -> dict[str, Any]:
        return {
            "api_key": obj,
            "title": "History API key issued",
            "api_url_absolute": settings.PUBLIC_BASE_URL
            + reverse("portal:api_events", kwargs={"slug": obj.organization.slug}),
        }

    @admin.action(description="Revoke selected API keys")
    def revoke_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        for api_key in queryset:
            services.revoke_history_api_key(api_key, actor=request.user)
        self.message_user(request, f"Revoked {queryset.count()} API key(s).", messages.SUCCESS)


class InvitationForm(forms.ModelForm):
    class Meta:
        model = Invitation
        fields = ["organization", "email", "role"]


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    """Invitations to an organization's portal. Staff invite here (or with
    ``manage.py invite_tenant_admin``); the link goes to the invited person by e-mail only and
    is never shown in the admin. Invitations are never edited: a wrong one expires unused."""

    form = InvitationForm
    list_display = ("email", "organization", "role", "status", "created_by", "expires_at")
    list_filter = ("role",)
    search_fields = ("email", "organization__name", "organization__slug")
    list_select_related = ("organization", "created_by")
    autocomplete_fields = ("organization",)
    readonly_fields = (
        "organization",
        "email",
        "role",
        "status",
        "created_by",
        "created_at",
        "expires_at",
        "accepted_at",
        "accepted_by",
    )

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return self.readonly_fields if obj is not None else ()

    def get_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return self.readonly_fields if obj is not None else ("organization", "email", "role")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Invitation, form: Any, change: bool) -> None:
        """Through ``services.invite``: hashed, audited with the staff member, e-mailed."""
        invitation, _ = services.invite(
            form.cleaned_data["organization"],
            email=form.cleaned_data["email"],
            role=form.cleaned_data["role"],
            actor=request.user,
        )
        obj.pk = invitation.pk
        obj.refresh_from_db()
        obj._state.adding = False
        messages.info(request, f"The invitation link was e-mailed to {invitation.email}.")
