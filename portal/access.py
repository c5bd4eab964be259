"""Which organizations a signed-in tenant admin may see: the one place portal access is decided.

Every portal view, the CSV export and the history API go through these helpers, and an
organization the user is not linked to answers 404, never 403, so its existence is not revealed.
"""

from __future__ import annotations

from django.contrib.auth.base_user import AbstractBaseUser
from django.db.models import QuerySet
from django.http import Http404, HttpRequest

from organizations.models import Organization


def organizations_for_user(user: AbstractBaseUser) -> QuerySet[Organization]:
    """Organizations ``user`` is linked to through portal memberships.

    Staff get no special pass here: they see every organization in the admin instead, and the
    portal shows exactly what the customer sees.
    """
    if not user.is_authenticated or not user.is_active:
        return Organization.objects.none()
    return Organization.objects.filter(portal_memberships__user=user).order_by("name")


def get_organization_for_user(request: HttpRequest, slug: str) -> Organization:
    """The organization at ``slug`` if the signed-in user may see it, else 404.

    ``slug`` may come from a query string (``?org=``): a NUL there names no organization, and
    PostgreSQL would refuse to even look it up.
    """
    if "\x00" in slug:
        raise Http404("No such organization.")
    organization = organizations_for_user(request.user).filter(slug=slug).first()
    if organization is None:
        raise Http404("No such organization.")
    return organization
