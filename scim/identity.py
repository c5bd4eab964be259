"""The identity rule SCIM matching uses, for every other layer that must agree with it.

Azure AD matches users by ``userName`` (and ``externalId``, ``emails[type eq "work"].value``)
ignoring case (RFC 7643 §4.1.1: ``userName`` is ``caseExact: false``; reference §3.2), and the
directory's uniqueness rule is the same. The portal's "Find a user" and the history's
per-person lookups call these functions instead of folding names themselves, so a name the
portal finds is exactly a name a SCIM filter would find.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from core.fixedselect import FixedSelect
from organizations.models import Organization

from .models import ScimGroup, ScimUser, identity_key

__all__ = ["find_users", "group_named", "identity_key", "user_with_key", "users_named"]


def users_named(organization: Organization, user_name: str) -> QuerySet[ScimUser]:
    """The organization's users whose ``userName`` is ``user_name`` under the SCIM identity
    rule (the indexed ``user_name_key``, as a ``userName eq`` filter and uniqueness compare).

    The one place another layer (SAML sign-in) matches a name to a provisioned user, so the
    rule that decides "same userName" for SCIM also decides it for sign-in.
    """
    return ScimUser.objects.filter(organization=organization, user_name_key=identity_key(user_name))


# ``users_named`` for the one filter Azure and Okta send for every user they provision
# (``userName eq "…"``), as a statement written once (``core.fixedselect``;
# tests/scim/test_user_lookup.py holds it to ``users_named``).
_USER_WITH_KEY = FixedSelect(
    ScimUser,
    where="{organization} = %s AND {user_name_key} = %s",
    params=["organization", "user_name_key"],
)


def user_with_key(organization_id: int, key: str) -> ScimUser | None:
    """The organization's user whose ``user_name_key`` is ``key`` (a name already folded by
    ``identity_key``), or ``None``."""
    return _USER_WITH_KEY.one(organization_id, key)


def group_named(organization: Organization, display_name: str) -> ScimGroup | None:
    """The organization's group whose ``displayName`` is ``display_name`` under the same rule."""
    return ScimGroup.objects.filter(
        organization=organization, display_name_key=identity_key(display_name)
    ).first()


def find_users(organization: Organization, text: str) -> QuerySet[ScimUser]:
    """``organization``'s users whose userName, work email or externalId is ``text``,
    compared exactly as the SCIM ``eq`` filter compares them: the userName by its identity
    key, the work email and the externalId ignoring case."""
    text = text.strip()
    if not text or "\x00" in text:
        return ScimUser.objects.none()
    return ScimUser.objects.filter(organization=organization).filter(
        Q(user_name_key=identity_key(text))
        | Q(work_email__iexact=text)
        | Q(external_id__iexact=text)
    )
