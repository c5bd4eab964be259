"""Which organizations a signed-in tenant admin may see, and what they may do there: the one
place portal access is decided.

Every portal view, the CSV export and the history API go through these helpers, and an
organization the user is not linked to answers 404, never 403, so its existence is not revealed.
A member whose role does not allow a page or a form answers 403, on GET and POST alike: roles
are checked here, on the server, not only by hiding links in templates.

A session remembers how it was signed in (``SIGN_IN_METHOD_KEY``): a password session never
sees an organization that signs in through SSO only. Which organizations those are is the
business of the app above (``PORTAL_PASSWORD_CLOSED_ORGANIZATIONS`` names its function), since
the portal never imports it. A session that does not say how it began counts as a password one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.contrib.sessions.backends.base import SessionBase
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.urls import reverse_lazy
from django.utils import timezone
from django.utils.module_loading import import_string

from organizations.models import Organization

from .models import PortalMembership, PortalRole

View = Callable[..., HttpResponse]
LOGIN_URL = reverse_lazy("portal:login")

VIEWER = PortalRole.VIEWER
ADMIN = PortalRole.ADMIN

SIGN_IN_METHOD_KEY = "portal.sign_in_method"
SIGNED_IN_AT_KEY = "portal.signed_in_at"
PASSWORD = "password"  # noqa: S105 (a sign-in method's name)
SSO = "sso"


def remember_sign_in(request: HttpRequest, method: str) -> None:
    """Note in the fresh session how and when it was signed in (call right after ``login``)."""
    request.session[SIGN_IN_METHOD_KEY] = method
    request.session[SIGNED_IN_AT_KEY] = timezone.now().isoformat()


def sign_in_method(session: SessionBase) -> str:
    return SSO if session.get(SIGN_IN_METHOD_KEY) == SSO else PASSWORD


def closed_to_passwords() -> QuerySet[Organization]:
    """Organizations no password session may see (those that sign in through SSO only)."""
    return import_string(settings.PORTAL_PASSWORD_CLOSED_ORGANIZATIONS)()


def organizations_for_user(request: HttpRequest) -> QuerySet[Organization]:
    """Organizations the signed-in user is linked to through portal memberships, less those
    closed to passwords when the session was signed in with a password.

    Staff get no special pass here: they see every organization in the admin instead, and the
    portal shows exactly what the customer sees.
    """
    user = request.user
    if not user.is_authenticated or not user.is_active:
        return Organization.objects.none()
    organizations = Organization.objects.filter(portal_memberships__user=user)
    if sign_in_method(request.session) == PASSWORD:
        organizations = organizations.exclude(pk__in=closed_to_passwords().values("pk"))
    return organizations.order_by("name")


def administered_by(request: HttpRequest) -> QuerySet[Organization]:
    """Organizations the signed-in user may see and holds the admin role in."""
    return organizations_for_user(request).filter(
        portal_memberships__user=request.user, portal_memberships__role=ADMIN
    )


def _membership(request: HttpRequest, slug: str) -> PortalMembership:
    if "\x00" in slug:
        raise Http404("No such organization.")
    user = request.user
    if not user.is_authenticated or not user.is_active:
        raise Http404("No such organization.")
    memberships = PortalMembership.objects.select_related("organization").filter(
        user=user, organization__slug=slug
    )
    if sign_in_method(request.session) == PASSWORD:
        memberships = memberships.exclude(organization__in=closed_to_passwords().values("pk"))
    membership = memberships.first()
    if membership is None:
        raise Http404("No such organization.")
    # Templates (the header's "Provisioning" and "Members" links) read the role from here.
    request.portal_role = membership.role
    return membership


def get_organization_for_user(request: HttpRequest, slug: str) -> Organization:
    """The organization at ``slug`` if the signed-in user may see it, else 404.

    ``slug`` may come from a query string (``?org=``): a NUL there names no organization, and
    PostgreSQL would refuse to even look it up.
    """
    return _membership(request, slug).organization


def require_role(request: HttpRequest, slug: str, role: str) -> Organization:
    """The organization at ``slug`` if the signed-in user holds ``role`` there (admin includes
    viewer); 404 when they are no member, 403 when the role is short."""
    membership = _membership(request, slug)
    if role == ADMIN and membership.role != ADMIN:
        raise PermissionDenied("Only an administrator of this organization can do this.")
    return membership.organization


def portal_view(role: str = VIEWER, methods: Iterable[str] = ("GET",)) -> Callable[[View], View]:
    """Decorate a view taking ``(request, organization, ...)`` from a ``slug`` URL: signed in,
    a member with ``role``, one of ``methods``. The role check runs before the method is
    looked at, so a viewer's POST to an admin form is a 403 whatever it carries."""
    allowed = [method.upper() for method in methods]

    def decorator(view: View) -> View:
        @wraps(view)
        @login_required(login_url=LOGIN_URL)
        def wrapper(request: HttpRequest, slug: str, *args: Any, **kwargs: Any) -> HttpResponse:
            organization = require_role(request, slug, role)
            if request.method not in allowed:
                return HttpResponseNotAllowed(allowed)
            return view(request, organization, *args, **kwargs)

        return wrapper

    return decorator


admin_view = portal_view(ADMIN, ("GET", "POST"))
