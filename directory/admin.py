"""Staff admin for webhook endpoints, their delivery log, events and platform API keys.

Secrets are shown once, on a page of their own after creating an endpoint or key or rotating a
secret (``core.admin.RevealOnceMixin``); never in a message, whose cookie anyone can read.
Each endpoint's page links to its delivery log and has "retry now" and "replay from position".
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from core.admin import RevealOnceMixin
from core.staffsession import second_factor_recently_verified
from organizations.models import Organization

from . import services
from .models import DirectoryEvent, PlatformApiKey, WebhookDelivery, WebhookEndpoint


class EndpointForm(forms.ModelForm):
    url = forms.URLField(max_length=2000, assume_scheme="https")

    class Meta:
        model = WebhookEndpoint
        fields = ["organization", "url", "description"]

    def clean_url(self) -> str:
        url = self.cleaned_data["url"]
        services.check_endpoint_url(url)
        return url


class ReplayForm(forms.Form):
    position = forms.IntegerField(min_value=1, help_text="Send again every event from here on.")
    organization = forms.ModelChoiceField(
        Organization.objects.all(),
        required=False,
        help_text="For an all-organizations endpoint: only this organization's events.",
    )


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(RevealOnceMixin, admin.ModelAdmin):
    reveal_purpose = "webhook-signing-secret"
    reveal_noun = "signing secret"

    form = EndpointForm
    list_display = [
        "url",
        "scope_display",
        "is_enabled",
        "failing_since",
        "disabled_reason",
        "log_link",
        "created_at",
    ]
    list_filter = ["is_enabled"]
    search_fields = ["url", "description", "organization__slug", "organization__name"]
    list_select_related = ["organization"]
    readonly_fields = [
        "public_id",
        "is_enabled",
        "disabled_at",
        "disabled_reason",
        "failing_since",
        "created_at",
        "created_by",
        "secret_hints",
        "log_link",
    ]
    # Picked by name, not by numeric id (the organization admin's search answers).
    autocomplete_fields = ["organization"]
    actions = ["rotate_secrets", "enable", "disable", "retry_now", "send_test_event"]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        if obj is None:
            return ["organization", "url", "description"]
        return [
            "public_id",
            "organization",
            "url",
            "description",
            "is_enabled",
            "disabled_at",
            "disabled_reason",
            "failing_since",
            "secret_hints",
            "log_link",
            "created_at",
            "created_by",
        ]

    @admin.display(description="Organizations")
    def scope_display(self, endpoint: WebhookEndpoint) -> str:
        return endpoint.scope

    @admin.display(description="Secrets")
    def secret_hints(self, endpoint: WebhookEndpoint) -> str:
        return ", ".join(
            f"{secret.hint}… ({'until ' + f'{secret.expires_at:%Y-%m-%d %H:%M}' if secret.expires_at else 'current'})"  # noqa: E501
            for secret in endpoint.secrets.all()
            if secret.is_active()
        )

    @admin.display(description="Delivery log")
    def log_link(self, endpoint: WebhookEndpoint) -> str:
        url = reverse("admin:directory_webhookdelivery_changelist")
        links = format_html('<a href="{}?endpoint__id__exact={}">deliveries</a>', url, endpoint.pk)
        if endpoint.pk:
            links = format_html(
                '{} · <a href="{}">replay from position…</a>',
                links,
                reverse("admin:directory_webhookendpoint_replay", args=[endpoint.pk]),
            )
        return links

    def save_model(
        self, request: HttpRequest, obj: WebhookEndpoint, form: Any, change: bool
    ) -> None:
        if change:
            obj.save(update_fields=["organization", "url", "description"])
            return
        endpoint, secret = services.add_endpoint(
            form.cleaned_data["organization"],
            url=form.cleaned_data["url"],
            description=form.cleaned_data["description"],
            actor=request.user,
        )
        obj.pk = endpoint.pk
        self.stash_secret(request, endpoint, secret)
        obj._secret_stashed = True

    def response_add(
        self, request: HttpRequest, obj: WebhookEndpoint, post_url_continue: str | None = None
    ) -> HttpResponse:
        if getattr(obj, "_secret_stashed", False):
            return HttpResponseRedirect(self.reveal_url(obj))
        return super().response_add(request, obj, post_url_continue)

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        for endpoint in WebhookEndpoint.objects.filter(is_enabled=False).exclude(
            disabled_reason__startswith="disabled by"
        ):
            self.message_user(
                request,
                f"{endpoint.url} ({endpoint.scope}) was disabled: {endpoint.disabled_reason}",
                messages.ERROR,
            )
        return super().changelist_view(request, extra_context)

    @admin.action(description="Rotate signing secret (old one keeps signing for the overlap)")
    @second_factor_recently_verified
    def rotate_secrets(self, request: HttpRequest, queryset: Any) -> HttpResponse | None:
        """Each new secret waits sealed in the session for its endpoint's page; one endpoint
        goes straight there, several are linked (the message names no secret)."""
        rotated = []
        for endpoint in queryset:
            self.stash_secret(
                request, endpoint, services.rotate_secret(endpoint, actor=request.user)
            )
            rotated.append(endpoint)
        if len(rotated) == 1:
            return HttpResponseRedirect(self.reveal_url(rotated[0]))
        self.message_user(
            request,
            format_html(
                "New signing secrets, each shown once on its page: {}",
                format_html_join(
                    ", ", '<a href="{}">{}</a>', ((self.reveal_url(e), e.url) for e in rotated)
                ),
            ),
            messages.WARNING,
        )
        return None

    @admin.action(description="Enable (deliver what is pending)")
    def enable(self, request: HttpRequest, queryset: Any) -> None:
        for endpoint in queryset:
            services.enable_endpoint(endpoint, actor=request.user)
        self.message_user(request, "Enabled.")

    @admin.action(description="Disable")
    def disable(self, request: HttpRequest, queryset: Any) -> None:
        for endpoint in queryset:
            services.disable_endpoint(endpoint, actor=request.user)
        self.message_user(request, "Disabled.")

    @admin.action(description="Send test event")
    def send_test_event(self, request: HttpRequest, queryset: Any) -> None:
        """A signed ``webhook.test`` event to each endpoint, now; the answer is shown."""
        for endpoint in queryset:
            status_code, error = services.send_test_event(endpoint, actor=request.user)
            if error:
                self.message_user(
                    request, f"Test event to {endpoint.url} failed: {error}.", messages.ERROR
                )
            else:
                self.message_user(
                    request, f"Test event delivered to {endpoint.url} (HTTP {status_code})."
                )

    @admin.action(description="Retry now")
    def retry_now(self, request: HttpRequest, queryset: Any) -> None:
        count = sum(services.retry_now(endpoint) for endpoint in queryset)
        self.message_user(request, f"{count} pending deliveries are due now.")

    def get_urls(self) -> list:
        return [
            path(
                "<int:pk>/replay/",
                self.admin_site.admin_view(self.replay_view),
                name="directory_webhookendpoint_replay",
            ),
            *super().get_urls(),
        ]

    def replay_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        endpoint = get_object_or_404(WebhookEndpoint, pk=pk)
        if not self.has_change_permission(request, endpoint):
            raise PermissionDenied
        form = ReplayForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            count = services.replay_from(
                endpoint,
                form.cleaned_data["position"],
                organization=form.cleaned_data["organization"],
            )
            self.message_user(request, f"{count} deliveries queued again, in order.")
            return HttpResponseRedirect(
                reverse("admin:directory_webhookendpoint_change", args=[pk])
            )
        return TemplateResponse(
            request,
            "admin/directory/replay.html",
            {
                **self.admin_site.each_context(request),
                "form": form,
                "endpoint": endpoint,
                "opts": self.model._meta,
                "title": f"Replay events to {endpoint.url}",
            },
        )


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = [
        "position",
        "event_type",
        "organization",
        "endpoint",
        "status",
        "attempts",
        "last_status_code",
        "last_error",
        "next_attempt_at",
        "delivered_at",
    ]
    list_filter = ["status", "endpoint"]
    search_fields = ["event__public_id", "organization__slug"]
    list_select_related = ["event", "organization", "endpoint"]
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields]
    raw_id_fields = ["event", "endpoint", "organization"]
    list_per_page = 100
    actions = ["retry_now"]

    @admin.display(description="Event")
    def event_type(self, delivery: WebhookDelivery) -> str:
        return delivery.event.type

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description="Retry now (the endpoints of the selected deliveries)")
    def retry_now(self, request: HttpRequest, queryset: Any) -> None:
        endpoints = WebhookEndpoint.objects.filter(pk__in=queryset.values("endpoint_id"))
        count = sum(services.retry_now(endpoint) for endpoint in endpoints)
        self.message_user(request, f"{count} pending deliveries are due now.")


@admin.register(DirectoryEvent)
class DirectoryEventAdmin(admin.ModelAdmin):
    list_display = [
        "position",
        "last_position",
        "type",
        "organization",
        "name",
        "resource_id",
        "created_at",
    ]
    list_filter = ["type"]
    search_fields = ["name", "external_id", "resource_id", "organization__slug"]
    list_select_related = ["organization"]
    readonly_fields = [f.name for f in DirectoryEvent._meta.fields]
    raw_id_fields = ["organization"]
    list_per_page = 100
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class PlatformApiKeyForm(forms.ModelForm):
    class Meta:
        model = PlatformApiKey
        fields = ["organization", "label"]


@admin.register(PlatformApiKey)
class PlatformApiKeyAdmin(RevealOnceMixin, admin.ModelAdmin):
    reveal_purpose = "platform-api-key"
    reveal_noun = "API key"

    form = PlatformApiKeyForm
    list_display = [
        "display_prefix",
        "organization",
        "label",
        "created_at",
        "last_used_at",
        "revoked_at",
    ]
    list_filter = ["revoked_at"]
    search_fields = ["key", "label", "organization__slug"]
    list_select_related = ["organization"]
    readonly_fields = ["key", "created_at", "created_by", "last_used_at", "revoked_at"]
    raw_id_fields = ["organization"]
    exclude = ["digest"]
    actions = ["revoke"]

    def save_model(
        self, request: HttpRequest, obj: PlatformApiKey, form: Any, change: bool
    ) -> None:
        if change:
            obj.save(update_fields=["label"])
            return
        api_key, plaintext = services.issue_platform_api_key(
            form.cleaned_data["organization"],
            actor=request.user,
            label=form.cleaned_data["label"],
        )
        obj.pk = api_key.pk
        self.stash_secret(request, api_key, plaintext)
        obj._secret_stashed = True

    def response_add(
        self, request: HttpRequest, obj: PlatformApiKey, post_url_continue: str | None = None
    ) -> HttpResponse:
        if getattr(obj, "_secret_stashed", False):
            return HttpResponseRedirect(self.reveal_url(obj))
        return super().response_add(request, obj, post_url_continue)

    @admin.action(description="Revoke selected keys")
    def revoke(self, request: HttpRequest, queryset: Any) -> None:
        for api_key in queryset:
            services.revoke_platform_api_key(api_key, actor=request.user)
        self.message_user(request, "Revoked.")
