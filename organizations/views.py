"""Staff pages beside the organization admin: issue, show once, rotate, revoke, switch.

They are admin views (``OrganizationAdmin.get_urls``), so they get the admin's login, CSRF and
``never_cache`` handling, and they change state only through ``services``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import URLPattern, path, reverse
from django.utils.cache import patch_cache_control
from django.views.decorators.debug import sensitive_variables

from core import reveal
from core.staffsession import second_factor_recently_verified

from . import services
from .forms import IssueTokenForm, RotateTokenForm
from .models import Organization, ProvisioningToken

REVEAL_PURPOSE = "provisioning-token"

if TYPE_CHECKING:
    _ModelAdmin = admin.ModelAdmin
else:
    _ModelAdmin = object


class OrganizationPagesMixin(_ModelAdmin):
    """Mixed into ``OrganizationAdmin``; every page needs change permission on the organization."""

    def get_urls(self) -> list[URLPattern]:
        def view(function: Callable[..., HttpResponse], suffix: str, route: str) -> URLPattern:
            return path(
                f"<path:object_id>/{route}",
                self.admin_site.admin_view(function),
                name=f"organizations_organization_{suffix}",
            )

        return [
            view(self.issue_token_view, "issue_token", "issue-token/"),
            view(self.issued_token_view, "issued_token", "tokens/<int:token_id>/"),
            view(self.rotate_token_view, "rotate_token", "tokens/<int:token_id>/rotate/"),
            view(self.revoke_token_view, "revoke_token", "tokens/<int:token_id>/revoke/"),
            view(self.enable_provisioning_view, "enable_provisioning", "enable-provisioning/"),
            view(self.disable_provisioning_view, "disable_provisioning", "disable-provisioning/"),
        ] + super().get_urls()

    def _organization(self, request: HttpRequest, object_id: str) -> Organization:
        organization = self.get_object(request, unquote(object_id))
        if organization is None:
            raise Http404("No such organization.")
        if not self.has_change_permission(request, organization):
            raise PermissionDenied
        return organization

    def _change_url(self, organization: Organization) -> str:
        return reverse("admin:organizations_organization_change", args=[organization.pk])

    def _page(
        self,
        request: HttpRequest,
        template: str,
        organization: Organization,
        title: str,
        **context: Any,
    ) -> HttpResponse:
        request.current_app = self.admin_site.name
        return render(
            request,
            template,
            {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "organization": organization,
                "change_url": self._change_url(organization),
                "title": title,
                **context,
            },
        )

    def _confirm(
        self,
        request: HttpRequest,
        organization: Organization,
        *,
        title: str,
        explanation: str,
        submit: str,
        form: Form | None = None,
        danger: bool = False,
    ) -> HttpResponse:
        return self._page(
            request,
            "organizations/organization_confirm.html",
            organization,
            title,
            explanation=explanation,
            submit=submit,
            form=form,
            danger=danger,
        )

    @second_factor_recently_verified
    @sensitive_variables()
    def issue_token_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        organization = self._organization(request, object_id)
        form = IssueTokenForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                token, plaintext = services.issue_token(
                    organization,
                    actor=request.user,
                    label=form.cleaned_data["label"],
                    expires_days=form.cleaned_data["expires_days"],
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                reveal.stash(request.session, REVEAL_PURPOSE, token.pk, plaintext)
                return HttpResponseRedirect(
                    reverse(
                        "admin:organizations_organization_issued_token",
                        args=[organization.pk, token.pk],
                    )
                )
        return self._page(
            request,
            "organizations/provisioningtoken_issue.html",
            organization,
            f"Issue a provisioning token for {organization}",
            form=form,
            active_tokens=organization.tokens.active().count(),
            max_active_tokens=services.MAX_ACTIVE_TOKENS,
        )

    @second_factor_recently_verified
    @sensitive_variables()
    def issued_token_view(
        self, request: HttpRequest, object_id: str, token_id: int
    ) -> HttpResponse:
        """Show a new token's plaintext the one time it is in the session, never again.

        Rendered here rather than lazily (``TemplateResponse``), so a rendering error can be
        replaced before any error page or report sees the frames that hold the plaintext.
        """
        organization = self._organization(request, object_id)
        token = get_object_or_404(ProvisioningToken, pk=token_id, organization=organization)
        plaintext = reveal.pop(request.session, REVEAL_PURPOSE, token.pk)
        try:
            response = self._page(
                request,
                "organizations/provisioningtoken_issued.html",
                organization,
                f"Provisioning token for {organization}",
                token=token,
                plaintext=plaintext,
                tenant_url=organization.scim_base_url,
            )
        except Exception as error:
            # The template's half-rendered output holds the token; a debug page shows the
            # locals of every frame, so the error is raised again without those frames.
            raise RuntimeError(f"Rendering the token page failed: {type(error).__name__}") from None
        patch_cache_control(
            response, no_store=True, no_cache=True, must_revalidate=True, private=True, max_age=0
        )
        return response

    @second_factor_recently_verified
    @sensitive_variables()
    def rotate_token_view(
        self, request: HttpRequest, object_id: str, token_id: int
    ) -> HttpResponse:
        organization = self._organization(request, object_id)
        token = get_object_or_404(ProvisioningToken, pk=token_id, organization=organization)
        form = RotateTokenForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                new_token, plaintext = services.rotate_token(
                    token, actor=request.user, expires_days=form.cleaned_data["expires_days"]
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                reveal.stash(request.session, REVEAL_PURPOSE, new_token.pk, plaintext)
                return HttpResponseRedirect(
                    reverse(
                        "admin:organizations_organization_issued_token",
                        args=[organization.pk, new_token.pk],
                    )
                )
        grace = settings.TOKEN_ROTATION_GRACE_DAYS
        return self._confirm(
            request,
            organization,
            title=f"Rotate {token}",
            form=form,
            submit="Rotate token",
            explanation=(
                f"A new token replaces {token} ({token.label or 'no label'}). The old token "
                f"keeps working for up to {grace} more day(s), so the customer can paste the new "
                "one into Azure AD without interrupting provisioning; then it lapses."
            ),
        )

    def revoke_token_view(
        self, request: HttpRequest, object_id: str, token_id: int
    ) -> HttpResponse:
        organization = self._organization(request, object_id)
        token = get_object_or_404(ProvisioningToken, pk=token_id, organization=organization)
        if request.method == "POST":
            services.revoke_token(token, actor=request.user)
            self.message_user(
                request,
                f"Revoked {token}. Azure AD requests with it are refused from now on.",
                messages.SUCCESS,
            )
            return HttpResponseRedirect(self._change_url(organization))
        return self._confirm(
            request,
            organization,
            title=f"Revoke {token}",
            submit="Revoke token",
            danger=True,
            explanation=(
                f"{token} ({token.label or 'no label'}) stops working at once. An Azure AD "
                "provisioning job still using it fails and is eventually quarantined."
            ),
        )

    def enable_provisioning_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        return self._provisioning_view(
            request,
            object_id,
            services.enable_provisioning_for,
            title="Enable provisioning",
            explanation=(
                "Azure AD can then create, update and deactivate this organization's users "
                "with any of its active tokens."
            ),
            done="Provisioning enabled.",
        )

    def disable_provisioning_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        return self._provisioning_view(
            request,
            object_id,
            services.disable_provisioning_for,
            title="Disable provisioning",
            explanation=(
                "Every token of this organization is refused at once. Nothing is deleted: "
                "enabling provisioning again restores the tokens that are still active."
            ),
            done="Provisioning disabled.",
            danger=True,
        )

    def _provisioning_view(
        self,
        request: HttpRequest,
        object_id: str,
        switch: Callable[..., Organization],
        *,
        title: str,
        explanation: str,
        done: str,
        danger: bool = False,
    ) -> HttpResponse:
        organization = self._organization(request, object_id)
        if request.method == "POST":
            try:
                switch(organization, actor=request.user)
            except ValidationError as error:
                self.message_user(request, " ".join(error.messages), messages.ERROR)
            else:
                self.message_user(request, done, messages.SUCCESS)
            return HttpResponseRedirect(self._change_url(organization))
        return self._confirm(
            request,
            organization,
            title=f"{title} for {organization}",
            explanation=explanation,
            submit=title,
            danger=danger,
        )
