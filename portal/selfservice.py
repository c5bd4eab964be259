"""The customer's own administration in the portal: members and invitations, provisioning
credentials (Secret Token, OAuth client, workload identity federation) and the live Test
Connection status.

Every view is decorated with ``access.portal_view``: reading the members is for any member,
everything else for the organization's admins only, checked here on GET and POST alike.
Credential actions are also refused while staff have switched the organization's
self-service off. Secrets are shown once through ``core.reveal``.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.forms import SetPasswordForm
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_GET

from core import reveal
from oauth import services as oauth_services
from oauth.credentials import OAUTH_CLIENT, WORKLOAD_IDENTITY
from oauth.models import OAuthClient
from organizations import services as organization_services
from organizations.models import Organization, ProvisioningToken

from . import services
from .access import ADMIN, VIEWER, administered_by, organizations_for_user, portal_view
from .models import Invitation, PortalMembership, PortalRole, SyncEvent

admin_view = portal_view(ADMIN, ("GET", "POST"))
admin_post = portal_view(ADMIN, ("POST",))

TOKEN_PURPOSE = "portal-secret-token"  # noqa: S105 (a purpose name)
CLIENT_SECRET_PURPOSE = "portal-client-secret"  # noqa: S105 (a purpose name)
SELF_SERVICE_OFF = (
    "Kno2 has switched self-service off for {name}: ask Kno2 support to issue, rotate or "
    "revoke its credentials."
)


def _render(
    request: HttpRequest, template: str, organization: Organization | None, context: dict[str, Any]
) -> HttpResponse:
    base = {"organization": organization, "organizations": organizations_for_user(request)}
    return render(request, template, {**base, **context})


# -- Members and invitations --------------------------------------------------------------------


class InviteForm(forms.Form):
    email = forms.EmailField(label="E-mail address", max_length=254)
    role = forms.ChoiceField(label="Role", choices=PortalRole.choices, initial=PortalRole.VIEWER)


@portal_view(VIEWER, ("GET",))
def members(request: HttpRequest, organization: Organization) -> HttpResponse:
    """Who can sign in to this organization's portal, with their role; admins also see the
    pending invitations and the form to invite someone."""
    is_admin = request.portal_role == ADMIN
    return _render(
        request,
        "portal/members.html",
        organization,
        {
            "memberships": PortalMembership.objects.filter(organization=organization)
            .select_related("user")
            .order_by("user__username"),
            "invitations": (
                Invitation.objects.filter(organization=organization).select_related("created_by")[
                    :50
                ]
                if is_admin
                else []
            ),
            "form": InviteForm() if is_admin else None,
        },
    )


@admin_post
def invite(request: HttpRequest, organization: Organization) -> HttpResponse:
    """A customer admin invites someone: the link goes by e-mail only, never to this page."""
    form = InviteForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Enter an e-mail address and a role.")
        return redirect("portal:members", slug=organization.slug)
    try:
        services.invite(
            organization,
            email=form.cleaned_data["email"],
            role=form.cleaned_data["role"],
            actor=request.user,
        )
    except services.InvitationRefused as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"Invitation e-mailed to {form.cleaned_data['email']}.")
    return redirect("portal:members", slug=organization.slug)


_INVITATION_SESSION_KEY = "portal_invitation"


@never_cache
@require_GET
def invitation_link(request: HttpRequest, token: str) -> HttpResponse:
    """The e-mailed link: remember which invitation it is, then move to a page without the link
    in its URL, so the form page's address, history and Referer never carry it."""
    invitation = services.usable_invitation(token)
    if invitation is None:
        return render(request, "portal/invitation.html", {"validlink": False}, status=404)
    request.session[_INVITATION_SESSION_KEY] = invitation.pk
    return redirect("portal:invitation_accept")


@never_cache
@sensitive_post_parameters("new_password1", "new_password2")
@sensitive_variables("password")
def invitation_accept(request: HttpRequest) -> HttpResponse:
    """Accept the invitation opened in this session.

    An SSO-only organization sends the person through single sign-on; an address that already
    has an account signs in first (the link alone never opens someone's existing account);
    anyone else chooses a password here (Django's validators) and is signed in.
    """
    invitation_id = request.session.get(_INVITATION_SESSION_KEY)
    invitation = (
        Invitation.objects.usable().select_related("organization").filter(pk=invitation_id).first()
        if invitation_id
        else None
    )
    if invitation is None:
        return render(request, "portal/invitation.html", {"validlink": False}, status=404)
    organization = invitation.organization
    context: dict[str, Any] = {"validlink": True, "invitation": invitation}
    if services.sso_only(organization):
        if request.method == "POST":
            request.session.pop(_INVITATION_SESSION_KEY, None)
            if services.accept_invitation_for_sso(invitation.pk) is None:
                return render(request, "portal/invitation.html", {"validlink": False}, status=404)
            start = reverse("sso:start")
            return redirect(f"{start}?organization={organization.slug}")
        return render(request, "portal/invitation.html", {**context, "sso": True})
    existing = services.account_for_invitation(invitation)
    if existing is not None:
        if request.user.is_authenticated and request.user.pk == existing.pk:
            if request.method == "POST":
                request.session.pop(_INVITATION_SESSION_KEY, None)
                if services.accept_invitation_as(invitation.pk, request.user) is None:
                    return render(
                        request, "portal/invitation.html", {"validlink": False}, status=404
                    )
                return redirect("portal:dashboard", slug=organization.slug)
            return render(request, "portal/invitation.html", {**context, "confirm": True})
        login_url = reverse("portal:login")
        next_url = reverse("portal:invitation_accept")
        return render(
            request,
            "portal/invitation.html",
            {**context, "sign_in_first": f"{login_url}?next={next_url}"},
        )
    person = User(username=invitation.email, email=invitation.email)
    form = SetPasswordForm(person, request.POST or None)
    if request.method == "POST" and form.is_valid():
        password = form.cleaned_data["new_password1"]
        user = services.accept_invitation_with_password(invitation.pk, password)
        request.session.pop(_INVITATION_SESSION_KEY, None)
        if user is None:
            return render(request, "portal/invitation.html", {"validlink": False}, status=404)
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return redirect("portal:dashboard", slug=organization.slug)
    return render(request, "portal/invitation.html", {**context, "form": form})


# -- Provisioning credentials -------------------------------------------------------------------


def _refused(request: HttpRequest, organization: Organization) -> HttpResponse | None:
    """The answer to a credential action while staff have switched self-service off."""
    if organization.self_service_enabled:
        return None
    messages.error(request, SELF_SERVICE_OFF.format(name=organization.name))
    response = redirect("portal:provisioning", slug=organization.slug)
    response.status_code = 303
    return response


class WorkloadIdentityForm(forms.Form):
    issuer = forms.CharField(
        label="Issuer",
        max_length=200,
        help_text="https://login.microsoftonline.com/<your tenant id>/v2.0",
    )
    subject = forms.CharField(
        label="Subject identifier", max_length=200, help_text="The managed identity's object id."
    )
    audience = forms.CharField(
        label="Audience", max_length=200, initial="api://AzureADTokenExchange"
    )


@portal_view(ADMIN, ("GET",))
def provisioning(request: HttpRequest, organization: Organization) -> HttpResponse:
    """The values Azure's provisioning job needs, the credentials in force and their actions."""
    now = timezone.now()
    tokens = list(
        ProvisioningToken.objects.filter(organization=organization)
        .active(now)
        .with_replacement(now)
        .select_related("created_by")
        .order_by("-created_at")
    )
    clients = list(
        OAuthClient.objects.filter(organization=organization)
        .active()
        .select_related("created_by")
        .order_by("-created_at")
    )
    for client in clients:
        client.active_secrets = list(client.secrets.active(now).order_by("-created_at"))
    workload = next((c for c in clients if c.kind == WORKLOAD_IDENTITY.kind), None)
    initial = (
        {"issuer": workload.issuer, "subject": workload.subject, "audience": workload.audience}
        if workload
        else None
    )
    return _render(
        request,
        "portal/provisioning.html",
        organization,
        {
            "tokens": tokens,
            "oauth_clients": [c for c in clients if c.kind == OAUTH_CLIENT.kind],
            "workload": workload,
            "workload_form": WorkloadIdentityForm(initial=initial),
            "token_endpoint": oauth_services.token_endpoint_url(organization),
            "other_organizations": administered_by(request).exclude(pk=organization.pk),
        },
    )


def _token(organization: Organization, pk: int) -> ProvisioningToken:
    token = ProvisioningToken.objects.filter(organization=organization, pk=pk).first()
    if token is None:
        raise Http404("No such token.")
    return token


def _client(organization: Organization, pk: int) -> OAuthClient:
    client = OAuthClient.objects.filter(organization=organization, pk=pk).first()
    if client is None:
        raise Http404("No such client.")
    return client


def _failed(
    request: HttpRequest, organization: Organization, error: ValidationError
) -> HttpResponse:
    messages.error(request, " ".join(error.messages))
    response = redirect("portal:provisioning", slug=organization.slug)
    response.status_code = 303
    return response


@sensitive_variables("plaintext")
@admin_post
def create_token(request: HttpRequest, organization: Organization) -> HttpResponse:
    """ "Create a Secret Token": issue one and show it once on the page that follows."""
    if refused := _refused(request, organization):
        return refused
    try:
        token, plaintext = organization_services.issue_token(
            organization, actor=request.user, label="Created in the portal"
        )
    except ValidationError as error:
        return _failed(request, organization, error)
    reveal.stash(request.session, TOKEN_PURPOSE, token.pk, plaintext)
    return redirect("portal:token_detail", slug=organization.slug, pk=token.pk)


@sensitive_variables("plaintext")
@admin_post
def rotate_token(request: HttpRequest, organization: Organization, pk: int) -> HttpResponse:
    """A new token now; the old one keeps working until the end of its grace period."""
    if refused := _refused(request, organization):
        return refused
    try:
        token, plaintext = organization_services.rotate_token(
            _token(organization, pk), actor=request.user
        )
    except ValidationError as error:
        return _failed(request, organization, error)
    reveal.stash(request.session, TOKEN_PURPOSE, token.pk, plaintext)
    return redirect("portal:token_detail", slug=organization.slug, pk=token.pk)


@admin_post
def revoke_token(request: HttpRequest, organization: Organization, pk: int) -> HttpResponse:
    if refused := _refused(request, organization):
        return refused
    token = organization_services.revoke_token(_token(organization, pk), actor=request.user)
    messages.success(request, f"{token.display_prefix} is revoked: Azure can no longer use it.")
    return redirect("portal:provisioning", slug=organization.slug)


@never_cache
@portal_view(ADMIN, ("GET",))
def token_detail(request: HttpRequest, organization: Organization, pk: int) -> HttpResponse:
    """The Tenant URL and, once, the Secret Token, under Entra's own names; then the live Test
    Connection status of this token."""
    token = _token(organization, pk)
    return _render(
        request,
        "portal/credential_detail.html",
        organization,
        {
            "kind": "token",
            "credential_id": token.display_prefix,
            "token": token,
            "secret": reveal.pop(request.session, TOKEN_PURPOSE, token.pk),
        },
    )


@sensitive_variables("plaintext")
@admin_post
def create_oauth_client(request: HttpRequest, organization: Organization) -> HttpResponse:
    if refused := _refused(request, organization):
        return refused
    try:
        client, secret, plaintext = oauth_services.issue_oauth_client(
            organization, actor=request.user, label="Created in the portal"
        )
    except ValidationError as error:
        return _failed(request, organization, error)
    reveal.stash(request.session, CLIENT_SECRET_PURPOSE, client.pk, plaintext)
    return redirect("portal:client_detail", slug=organization.slug, pk=client.pk)


@sensitive_variables("plaintext")
@admin_post
def rotate_client_secret(request: HttpRequest, organization: Organization, pk: int) -> HttpResponse:
    if refused := _refused(request, organization):
        return refused
    try:
        _, plaintext = oauth_services.rotate_client_secret(
            _client(organization, pk), actor=request.user
        )
    except ValidationError as error:
        return _failed(request, organization, error)
    reveal.stash(request.session, CLIENT_SECRET_PURPOSE, pk, plaintext)
    return redirect("portal:client_detail", slug=organization.slug, pk=pk)


@admin_post
def revoke_client(request: HttpRequest, organization: Organization, pk: int) -> HttpResponse:
    if refused := _refused(request, organization):
        return refused
    client = oauth_services.revoke_oauth_client(_client(organization, pk), actor=request.user)
    messages.success(request, f"{client.client_id} is revoked: Azure can no longer use it.")
    return redirect("portal:provisioning", slug=organization.slug)


@admin_post
def configure_workload_identity(request: HttpRequest, organization: Organization) -> HttpResponse:
    if refused := _refused(request, organization):
        return refused
    form = WorkloadIdentityForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Enter the issuer, the subject identifier and the audience.")
        return redirect("portal:provisioning", slug=organization.slug)
    try:
        client = oauth_services.configure_workload_identity(
            organization, actor=request.user, label="Configured in the portal", **form.cleaned_data
        )
    except ValidationError as error:
        return _failed(request, organization, error)
    return redirect("portal:client_detail", slug=organization.slug, pk=client.pk)


@never_cache
@portal_view(ADMIN, ("GET",))
def client_detail(request: HttpRequest, organization: Organization, pk: int) -> HttpResponse:
    client = _client(organization, pk)
    return _render(
        request,
        "portal/credential_detail.html",
        organization,
        {
            "kind": client.kind,
            "credential_id": client.client_id,
            "client": client,
            "token_endpoint": oauth_services.token_endpoint_url(organization),
            "secret": reveal.pop(request.session, CLIENT_SECRET_PURPOSE, client.pk),
        },
    )


@never_cache
@portal_view(ADMIN, ("GET",))
def test_connection_status(request: HttpRequest, organization: Organization) -> JsonResponse:
    """Whether Azure (or Okta) has called with the credential ``?credential=`` (its public id)
    yet, and if so what its first request was and whether it succeeded. Polled by the
    credential's page."""
    credential_id = request.GET.get("credential", "")[:100].replace("\x00", "")
    first = (
        SyncEvent.objects.for_organization(organization)
        .filter(credential_id=credential_id)
        .order_by("created_at", "id")
        .first()
        if credential_id
        else None
    )
    if first is None:
        return JsonResponse({"state": "waiting", "text": "Waiting for Test Connection"})
    request_line = f"{first.method} {first.path}" + (
        f"?filter={first.filter}" if first.filter else ""
    )
    outcome = "succeeded" if first.succeeded else f"failed ({first.status_code})"
    return JsonResponse(
        {
            "state": "received",
            "succeeded": first.succeeded,
            "status_code": first.status_code,
            "request": request_line,
            "at": first.created_at.isoformat(),
            "text": f"First request received: {request_line} — {outcome}.",
        }
    )
