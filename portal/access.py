"""Which organizations a signed-in tenant admin may see, and what they may do there: the one
place portal access is decided.

Every portal view, the CSV export and the history API go through these helpers, and an
organization the user is not linked to answers 404, never 403, so its existence is not revealed.
A member whose role does not allow a page or a form answers 403, on GET and POST alike: roles
are checked here, on the server, not only by hiding links in templates.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.urls import reverse_lazy

from organizations.models import Organization

from .models import PortalMembership, PortalRole

View = Callable[..., HttpResponse]
LOGIN_URL = reverse_lazy("portal:login")

VIEWER = PortalRole.VIEWER
ADMIN = PortalRole.ADMIN


def organizations_for_user(user: AbstractBaseUser) -> QuerySet[Organization]:
    """Organizations ``user`` is linked to through portal memberships.

    Staff get no special pass here: they see every organization in the admin instead, and the
    portal shows exactly what the customer sees.
    """
    if not user.is_authenticated or not user.is_active:
        return Organization.objects.none()
    return Organization.objects.filter(portal_memberships__user=user).order_by("name")


def administered_by(user: AbstractBaseUser) -> QuerySet[Organization]:
    """Organizations where ``user`` holds the admin role."""
    return organizations_for_user(user).filter(portal_memberships__role=ADMIN)


def _membership(request: HttpRequest, slug: str) -> PortalMembership:
    if "\x00" in slug:
        raise Http404("No such organization.")
    user = request.user
    if not user.is_authenticated or not user.is_active:
        raise Http404("No such organization.")
    membership = (
        PortalMembership.objects.select_related("organization")
        .filter(user=user, organization__slug=slug)
        .first()
    )
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
