"""The directory Azure AD provisions into: SCIM users, groups and group memberships.

Every row belongs to one organization. Columns hold what the service filters, sorts or keeps
unique on; the rest of a resource (``name``, ``emails``, the enterprise extension, any custom
extension a customer maps in Azure) is kept in ``attributes`` exactly as sent, so it reads back
unchanged (RFC 7643 §2: service providers return what clients wrote).
"""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import F
from django.db.models.functions import Upper
from django.utils import timezone

from organizations.models import Organization


class ScimUser(models.Model):
    """One provisioned user of an organization (RFC 7643 §4.1).

    ``scim_id`` is the SCIM ``id``: random, so ids reveal nothing and cannot be guessed across
    tenants, and stable for the row's life. ``userName`` is unique per organization ignoring
    case, held by a functional unique index so parallel creates cannot both win; the same
    ``UPPER(user_name)`` expression serves the case-insensitive ``eq`` filter on PostgreSQL.
    """

    # Optional strings are NULL when unassigned, not "": RFC 7643 §2.5 distinguishes the two,
    # and the "pr" (present) filter must not match an attribute that was never sent.
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="scim_users"
    )
    scim_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    external_id = models.CharField(max_length=255, null=True, blank=True)  # noqa: DJ001
    user_name = models.CharField(max_length=255)
    # NULL only after a PATCH "remove" of active (RFC 7644 §3.5.2.2): unassigned, which this
    # service reads as active; Azure deactivates by sending active=false (docs/azure-scim-client.md
    # §3.4).
    active = models.BooleanField(null=True, default=True)
    display_name = models.CharField(max_length=255, null=True, blank=True)  # noqa: DJ001
    # Copies of values inside ``attributes``, kept as columns only so filters can use an index.
    given_name = models.CharField(max_length=255, null=True, blank=True)  # noqa: DJ001
    family_name = models.CharField(max_length=255, null=True, blank=True)  # noqa: DJ001
    work_email = models.CharField(  # noqa: DJ001
        max_length=320, null=True, blank=True,
        help_text='The value of emails[type eq "work"], else of the primary email.',
    )
    attributes = models.JSONField(
        default=dict, blank=True,
        help_text="Every other SCIM attribute exactly as sent, extensions under their URN.",
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(
                F("organization"), Upper("user_name"), name="scim_user_name_unique_per_org_ci",
                violation_error_message="userName is already taken in this organization.",
            ),
        ]
        indexes = [
            # Pages of one tenant in a stable order (RFC 7644 §3.4.2.4) without a full scan.
            models.Index(fields=["organization", "id"], name="scim_user_org_page"),
            models.Index(F("organization"), Upper("external_id"), name="scim_user_external_id_ci"),
            models.Index(F("organization"), Upper("work_email"), name="scim_user_work_email_ci"),
            models.Index(
                F("organization"), Upper("display_name"), name="scim_user_display_name_ci"
            ),
        ]

    def __str__(self) -> str:
        return self.user_name

    @property
    def etag(self) -> str:
        """Weak entity tag of this version (RFC 7644 §3.14)."""
        return f'W/"{self.version}"'

    @property
    def is_active(self) -> bool:
        """Deactivated only by an explicit ``active: false``."""
        return self.active is not False


class ScimGroup(models.Model):
    """One provisioned group of an organization (RFC 7643 §4.2).

    Azure requires ``displayName`` to be unique (SCIM tutorial, /Groups); it is, per
    organization and ignoring case, by a functional unique index.
    """

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="scim_groups"
    )
    scim_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    external_id = models.CharField(max_length=255, null=True, blank=True)  # noqa: DJ001
    display_name = models.CharField(max_length=255)
    attributes = models.JSONField(
        default=dict, blank=True, help_text="Any other SCIM attribute exactly as sent."
    )
    members = models.ManyToManyField(
        ScimUser, through="GroupMembership", related_name="scim_groups"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(
                F("organization"), Upper("display_name"),
                name="scim_group_display_name_unique_per_org_ci",
                violation_error_message="displayName is already taken in this organization.",
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "id"], name="scim_group_org_page"),
            models.Index(F("organization"), Upper("external_id"), name="scim_group_external_id_ci"),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def etag(self) -> str:
        """Weak entity tag of this version (RFC 7644 §3.14)."""
        return f'W/"{self.version}"'


class GroupMembership(models.Model):
    """A user's membership of a group. Both sides always belong to the same organization:
    ``scim.services`` resolves member ids only among the group's own organization's users."""

    group = models.ForeignKey(ScimGroup, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(ScimUser, on_delete=models.CASCADE, related_name="memberships")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["group", "user"], name="scim_membership_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.group_id}"


def user_model() -> type[ScimUser]:
    """django-scim2 hook ``USER_MODEL_GETTER``."""
    return ScimUser
