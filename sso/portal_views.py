"""The portal's Single sign-on page (/portal/o/<slug>/sso/), for the organization's admins.

A customer admin sets the identity provider (kind and issuer), its metadata by URL or by the
"Federation Metadata XML" file, and the provisioned group whose members may sign in; the page
then shows the values to paste, named as that identity provider names them, a "Test single
sign-on" link that opens an SP-initiated sign-in in a new tab, and the sign-in log's latest
outcome, polled. Viewers get 403 on every method (``portal.access.portal_view``), and saves are
refused while staff have switched the organization's self-service off.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache

from organizations.models import Organization
from portal.access import ADMIN, administered_by, organizations_for_user, portal_view

from . import services
from .forms import PortalSsoForm
from .models import Outcome, SignInAttempt, SsoConfiguration
from .views import UNVERIFIED_HOURS

SELF_SERVICE_OFF = (
    "Kno2 has switched self-service off for {name}: ask Kno2 support to change its single sign-on."
)


def _latest_outcome(organization: Organization) -> dict[str, object]:
    attempt = SignInAttempt.objects.filter(organization=organization).first()
    if attempt is None:
        return {"state": "none", "text": "No sign-in attempts yet."}
    return {
        "state": attempt.outcome,
        "id": attempt.pk,
        "accepted": attempt.outcome == Outcome.ACCEPTED,
        "at": attempt.created_at.isoformat(),
        "text": f"{attempt.created_at:%Y-%m-%d %H:%M:%S} UTC: {attempt.summary}",
    }


def _refused_organizations(organizations: list[Organization]) -> list[Organization]:
    return [organization for organization in organizations if not organization.self_service_enabled]


@never_cache
@portal_view(ADMIN, ("GET", "POST"))
def page(request: HttpRequest, organization: Organization) -> HttpResponse:
    """The single sign-on form, the values to paste, the test link and the sign-in log."""
    configuration = SsoConfiguration.objects.filter(organization=organization).first()
    others = administered_by(request).exclude(pk=organization.pk)
    initial = {
        "kind": organization.idp_kind,
        "issuer": organization.sso_issuer,
        "metadata_url": configuration.metadata_url if configuration else "",
        "portal_group": (configuration.group_names or [None])[0] if configuration else None,
        # A first setup keeps passwords working, so the admin is not locked out before testing.
        "allow_password_sign_in": configuration.allow_password_sign_in if configuration else True,
    }
    form = PortalSsoForm(
        request.POST or None,
        request.FILES or None,
        organization=organization,
        others=others,
        initial=initial,
    )
    if request.method == "POST" and form.is_valid():
        targets = [organization, *form.cleaned_data.get("also_apply_to", [])]
        if refused := _refused_organizations(targets):
            for target in refused:
                messages.error(request, SELF_SERVICE_OFF.format(name=target.name))
            response = redirect("sso_portal:page", slug=organization.slug)
            response.status_code = 303
            return response
        try:
            services.configure_identity_provider(
                targets,
                kind=form.cleaned_data["kind"],
                issuer=form.cleaned_data["issuer"],
                portal_groups=[form.cleaned_data["portal_group"].display_name],
                actor=request.user,
                metadata_url=form.cleaned_data["metadata_url"],
                metadata_xml=form.cleaned_data["metadata_file"],
                allow_password_sign_in=form.cleaned_data["allow_password_sign_in"],
            )
        except ValidationError as error:
            for message in error.messages:
                form.add_error(None, message)
        else:
            names = ", ".join(target.name for target in targets)
            messages.success(request, f"Single sign-on saved for {names}.")
            if not organizations_for_user(request).filter(pk=organization.pk).exists():
                # Password sign-in is now off and this session signed in with a password.
                messages.info(request, "Sign in through single sign-on to return to it.")
                response = redirect("portal:home")
                response.status_code = 303
                return response
            response = redirect("sso_portal:page", slug=organization.slug)
            response.status_code = 303
            return response
        organization.refresh_from_db()
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "sso/portal_sso.html",
        {
            "organization": organization,
            "organizations": organizations_for_user(request),
            "sp": services.service_provider(organization),
            "configuration": configuration,
            "form": form,
            "test_url": (
                reverse("sso:login", args=[organization.public_id])
                + "?next="
                + reverse("sso_portal:page", args=[organization.slug])
            ),
            "latest": _latest_outcome(organization),
            "attempts": list(SignInAttempt.objects.filter(organization=organization)[:50]),
            "unverified": services.unverified_counts(organization, hours=UNVERIFIED_HOURS),
            "unverified_hours": UNVERIFIED_HOURS,
        },
        status=status,
    )


@never_cache
@portal_view(ADMIN, ("GET",))
def latest_sign_in(request: HttpRequest, organization: Organization) -> JsonResponse:
    """The sign-in log's latest outcome, polled by the page after "Test single sign-on"."""
    return JsonResponse(_latest_outcome(organization))
