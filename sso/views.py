"""SAML endpoints of each organization (/sso/<public id>/...); the portal's SSO page is in
``portal_views``.

The AuthnRequest id and where to go afterwards travel in a short-lived signed cookie of their
own, not in the session: the IdP posts the response from another site, and the session cookie
(SameSite=Lax) is not sent on that cross-site POST. The cookie is HttpOnly, scoped to /sso/,
SameSite=None and Secure over https, and lives ``SSO_REQUEST_MAX_AGE_SECONDS``.
"""

from __future__ import annotations

import logging
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

from core import ratelimit
from core.ratelimit import client_ip_or_none
from organizations.models import Organization
from portal.access import SSO, remember_sign_in

from . import saml, services
from .models import RefusalReason, SsoConfiguration

REQUEST_COOKIE = "kno2_sso_request"
REQUEST_SALT = "sso.authn-request"
SESSION_KEY = "sso"
PORTAL_HOME = "/portal/"
# Refusals cured by a setting at the IdP (not an attack signal): the refusal page says which.
EXPLAINED_REFUSALS = frozenset(
    {
        RefusalReason.UNSOLICITED,
        RefusalReason.WEAK_ALGORITHM,
        RefusalReason.NAMEID_PERSISTENT,
        RefusalReason.NAMEID_TRANSIENT,
        RefusalReason.NAMEID_FORMAT,
    }
)

# The portal's SSO page totals the responses refused unverified over this many hours.
UNVERIFIED_HOURS = 24

logger = logging.getLogger(__name__)


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


def _refused(request: HttpRequest, message: str, status: int, **context: str) -> HttpResponse:
    """The refusal page; ``reason``, ``explanation`` and ``login_url`` say what to change when a
    setting at the IdP causes the refusal."""
    response = render(request, "sso/refused.html", {"message": message, **context}, status=status)
    response.delete_cookie(REQUEST_COOKIE, path="/sso/")
    return response


def _over_rate(request: HttpRequest, organization: Organization) -> int | None:
    """Seconds to wait once this client has posted ``SSO_ACS_RATE`` times to this organization's
    ACS, else ``None``. Counted before anything is parsed, by the fail-open limiter."""
    spent = ratelimit.usage(
        request,
        "sso-acs",
        f"{ratelimit.client_address(request)}|{organization.public_id}",
        settings.SSO_ACS_RATE,
        increment=True,
    )
    if spent is None or not spent["should_limit"]:
        return None
    return max(1, spent["time_left"])


@csrf_exempt  # the IdP posts here; the response's signature and InResponseTo protect it
@never_cache
@require_POST
def assertion_consumer(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """The ACS. Anyone can post here, and checking a response costs pysaml2's schema
    validation and an xmlsec1 run, so the cheap refusals come first: a client over
    ``SSO_ACS_RATE`` for this organization (429), then a ``SAMLResponse`` longer than
    ``SSO_MAX_RESPONSE_BYTES`` in its base64 form (413), neither decoded nor parsed."""
    configuration = _configuration(public_id)
    organization = configuration.organization
    retry_after = _over_rate(request, organization)
    if retry_after is not None:
        logger.warning("sso acs rate limit reached org=%s", organization.pk)
        response = _refused(
            request, "Too many sign-in attempts from your network: try again in a few minutes.", 429
        )
        response["Retry-After"] = str(retry_after)
        return response
    saml_response = request.POST.get("SAMLResponse", "")
    if not saml_response:
        return HttpResponseBadRequest("SAMLResponse missing.")
    if len(saml_response) > settings.SSO_MAX_RESPONSE_BYTES:
        services.count_unverified(organization, RefusalReason.TOO_LARGE)
        return _refused(
            request, "The sign-in response is larger than any identity provider sends.", 413
        )
    pending = _pending_request(request, organization.pk)
    outstanding = {pending["id"]: pending["next"]} if pending else {}
    result = services.complete_sign_in(
        configuration,
        saml_response,
        outstanding,
        client_ip=client_ip_or_none(request),
    )
    if not result.accepted:
        reason = result.reason
        return _refused(
            request,
            "Single sign-on did not let you in. Your organization's Kno2 "
            "administrators can see why in the portal's sign-in log.",
            403,
            reason=reason,
            explanation=RefusalReason(reason).label if reason in EXPLAINED_REFUSALS else "",
            login_url=services.service_provider(organization).login_url,
        )
    login(request, result.portal_user, backend="django.contrib.auth.backends.ModelBackend")
    remember_sign_in(request, SSO)
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
    """Our SP metadata, served before single sign-on is configured too: many IdPs are set up
    from it first, and only then publish the metadata we configure from."""
    organization = get_object_or_404(Organization, public_id=public_id)
    return HttpResponse(
        saml.sp_metadata(services.service_provider(organization)),
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
