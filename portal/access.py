"""Which organizations a signed-in tenant admin may see: the one place portal access is decided.

Every portal view, the CSV export and the history API go through these helpers, and an
organization the user is not linked to answers 404, never 403, so its existence is not revealed.

A session remembers how it was signed in (``SIGN_IN_METHOD_KEY``): a password session never
sees an organization that signs in through SSO only. Which organizations those are is the
business of the app above (``PORTAL_PASSWORD_CLOSED_ORGANIZATIONS`` names its function), since
the portal never imports it. A session that does not say how it began counts as a password one.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from django.db.models import QuerySet
from django.http import Http404, HttpRequest
from django.utils import timezone
from django.utils.module_loading import import_string

from organizations.models import Organization

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


def get_organization_for_user(request: HttpRequest, slug: str) -> Organization:
    """The organization at ``slug`` if the signed-in user may see it, else 404.

    ``slug`` may come from a query string (``?org=``): a NUL there names no organization, and
    PostgreSQL would refuse to even look it up.
    """
    if "\x00" in slug:
        raise Http404("No such organization.")
    organization = organizations_for_user(request).filter(slug=slug).first()
    if organization is None:
        raise Http404("No such organization.")
    return organization
