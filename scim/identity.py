"""The identity rule SCIM matching uses, for every other layer that must agree with it.

Azure AD matches users by ``userName`` (and ``externalId``, ``emails[type eq "work"].value``)
ignoring case (RFC 7643 §4.1.1: ``userName`` is ``caseExact: false``; reference §3.2), and the
directory's uniqueness rule is the same. The portal's "Find a user" and the history's
per-person lookups call these functions instead of folding names themselves, so a name the
portal finds is exactly a name a SCIM filter would find.
"""

from __future__ import annotations

import unicodedata

from django.db.models import Q, QuerySet

from organizations.models import Organization

from .models import ScimUser


def identity_key(value: str) -> str:
    """The form two user identifiers are compared in: NFKC, then Unicode case folding."""
    return unicodedata.normalize("NFKC", value).casefold()


def find_users(organization: Organization, text: str) -> QuerySet[ScimUser]:
    """``organization``'s users whose userName, work email or externalId is ``text``,
    ignoring case exactly as the SCIM ``eq`` filter does (the same indexed expressions)."""
    text = text.strip()
    if not text or "\x00" in text:
        return ScimUser.objects.none()
    return ScimUser.objects.filter(organization=organization).filter(
        Q(user_name__iexact=text) | Q(work_email__iexact=text) | Q(external_id__iexact=text)
    )
