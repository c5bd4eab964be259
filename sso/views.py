"""SAML endpoints of each organization (/sso/<public id>/...); the portal's SSO page is in
``portal_views``.

The AuthnRequest id and where to go afterwards travel in a short-lived signed cookie of their
own, not in the session: the IdP posts the response from another site, and the session cookie
(SameSite=Lax) is not sent on that cross-site POST. The cookie is HttpOnly, scoped to /sso/,
SameSite=None and Secure over https, and lives ``SSO_REQUEST_MAX_AGE_SECONDS``.
"""

from __future__ import annotations

import uuid
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.core import signing
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from core.ratelimit import client_ip_or_none

from . import saml, services
from .models import SsoConfiguration

REQUEST_COOKIE = "kno2_sso_request"
REQUEST_SALT = "sso.authn-request"
SESSION_KEY = "sso"
PORTAL_HOME = "/portal/"


def safe_next(value: str | None) -> str:
    """Only our own portal paths; anything else (another host, a scheme, //evil) is the home."""
    if (
        value
        and value.startswith(PORTAL_HOME)
        and url_has_allowed_host_and_scheme(value, allowed_hosts=None, require_https=False)
        and "\\" not in value
    ):
        return value
    return PORTAL_HOME


def _configuration(public_id: uuid.UUID) -> SsoConfiguration:
    return get_object_or_404(
        SsoConfiguration.objects.select_related("organization"),
        organization__public_id=public_id,
    )


@never_cache
@require_GET
def sign_on(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """SP-initiated sign-in: redirect the browser to the IdP with an AuthnRequest."""
    configuration = _configuration(public_id)
    if not configuration.enabled:
        return render(
            request,
            "sso/refused.html",
            {
                "message": "Single sign-on is switched off for this organization.",
            },
            status=403,
        )
    next_path = safe_next(request.GET.get("next"))
    request_id, location = services.start_sign_in(configuration, next_path)
    response = redirect(location)
    value = signing.dumps(
        {"id": request_id, "org": configuration.organization_id, "next": next_path},
        salt=REQUEST_SALT,
    )
    secure = settings.SESSION_COOKIE_SECURE
    response.set_cookie(
        REQUEST_COOKIE,
        value,
        max_age=settings.SSO_REQUEST_MAX_AGE_SECONDS,
        path="/sso/",
        httponly=True,
        secure=secure,
        samesite="None" if secure else "Lax",
    )
    return response


def _pending_request(request: HttpRequest, organization_id: int) -> dict | None:
    raw = request.COOKIES.get(REQUEST_COOKIE)
    if not raw:
        return None
    try:
        value = signing.loads(raw, salt=REQUEST_SALT, max_age=settings.SSO_REQUEST_MAX_AGE_SECONDS)
    except signing.BadSignature:
        return None
    if value.get("org") != organization_id:
        return None
    return value


@csrf_exempt  # the IdP posts here; the response's signature and InResponseTo protect it
@never_cache
@require_POST
def assertion_consumer(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    configuration = _configuration(public_id)
    organization = configuration.organization
    saml_response = request.POST.get("SAMLResponse", "")
    if not saml_response:
        return HttpResponseBadRequest("SAMLResponse missing.")
    pending = _pending_request(request, organization.pk)
    outstanding = {pending["id"]: pending["next"]} if pending else {}
    result = services.complete_sign_in(
        configuration,
        saml_response,
        outstanding,
        client_ip=client_ip_or_none(request),
    )
    if not result.accepted:
        response = render(
            request,
            "sso/refused.html",
            {
                "message": "Single sign-on did not let you in. Your organization's Kno2 "
                "administrators can see why in the portal's sign-in log.",
            },
            status=403,
        )
        response.delete_cookie(REQUEST_COOKIE, path="/sso/")
        return response
    login(request, result.portal_user, backend="django.contrib.auth.backends.ModelBackend")
    request.session[SESSION_KEY] = {
        "org": organization.pk,
        "user": result.scim_user.pk,
        "expires": services.session_expiry().isoformat(),
    }
    request.session.set_expiry(settings.SSO_SESSION_MAX_AGE_SECONDS)
    # RelayState comes back from the IdP; we go where the signed cookie says, our own path.
    response = redirect(safe_next(pending["next"] if pending else None))
    response.delete_cookie(REQUEST_COOKIE, path="/sso/")
    return response


@require_GET
def sp_metadata(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    configuration = _configuration(public_id)
    sp = services.service_provider(configuration.organization)
    return HttpResponse(
        saml.sp_metadata(sp, configuration.metadata_xml),
        content_type="application/samlmetadata+xml",
    )


@require_GET
def start(request: HttpRequest) -> HttpResponse:
    """The portal login page's "Sign in with SSO": organization slug → its sign-on URL.

    A page that moves on by itself rather than a redirect: the login form's CSP says
    ``form-action 'self'``, which browsers apply to every redirect after a form submission, and
    the sign-on URL redirects on to the IdP's own host.
    """
    slug = request.GET.get("organization", "").strip().lower()
    configuration = (
        SsoConfiguration.objects.select_related("organization")
        .filter(organization__slug=slug, enabled=True)
        .first()
    )
    if configuration is None:
        messages.error(request, "Single sign-on is not set up for that organization.")
        return redirect("portal:login")
    target = reverse("sso:login", args=[configuration.organization.public_id])
    target = f"{target}?{urlencode({'next': safe_next(request.GET.get('next'))})}"
    return render(request, "sso/continue.html", {"target": target})
