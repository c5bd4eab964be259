"""The directory Azure AD provisions into: SCIM users, groups and group memberships.

Every row belongs to one organization. Columns hold what the service filters, sorts or keeps
unique on; the rest of a resource (``name``, ``emails``, the enterprise extension, any custom
extension a customer maps in Azure) is kept in ``attributes`` exactly as sent, so it reads back
unchanged (RFC 7643 §2: service providers return what clients wrote).
"""

from __future__ import annotations

import unicodedata
import uuid
from collections.abc import Iterable
from typing import Any

from django.db import models
from django.db.models import F
from django.db.models.functions import Upper
from django.utils import timezone

from core.fixedinsert import CarriedInsert, FixedInsert
from core.fixedupdate import FixedUpdate
from organizations.models import Organization

# UTF-8 bytes of an identity key: PostgreSQL's b-tree entries are limited to about 2.7 kB, and
# NFKC can expand one character to eighteen (U+FDFA), so the key, not the name, is bounded.
IDENTITY_KEY_MAX_BYTES = 1020


def identity_key(name: str) -> str:
    """The key that decides whether two userNames (or group displayNames) are the same name.

    RFC 7643 §4.1.1 makes ``userName`` case-insensitive without saying which folding; deciding
    it in Python keeps it identical on every database (PostgreSQL's ``UPPER`` follows the
    collation, so the dotless ``ı`` matched ``i``; SQLite folded ASCII only). NFKC first, so
    compatibility forms (the Kelvin sign ``K``, fullwidth ``ａ``) are the letters they look
    like, then full Unicode case folding.
    """
    return unicodedata.normalize("NFKC", name).casefold()


class IdentityKeyQuerySet(models.QuerySet):
    """``bulk_create`` fills the identity key, as ``save`` does (neither calls the other)."""

    def bulk_create(self, objs: Iterable[Any], *args: Any, **kwargs: Any) -> list[Any]:
        objs = list(objs)
        for obj in objs:
            obj.refresh_identity_key()
        return super().bulk_create(objs, *args, **kwargs)


class ScimUser(models.Model):
    """One provisioned user of an organization (RFC 7643 §4.1).

    ``scim_id`` is the SCIM ``id``: random, so ids reveal nothing and cannot be guessed across
    tenants, and stable for the row's life. ``userName`` is unique per organization by its
    ``identity_key``, held by a unique constraint so parallel creates cannot both win; the same
    indexed column answers the ``userName eq`` filter.
    """

    # Optional strings are NULL when unassigned, not "": RFC 7643 §2.5 distinguishes the two,
    # and the "pr" (present) filter must not match an attribute that was never sent.
    # No index of its own: the (organization, id) and (organization, user_name_key) indexes
    # lead with it.
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="scim_users", db_index=False
    )
    scim_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    external_id = models.CharField(max_length=255, null=True, blank=True)  # noqa: DJ001
    user_name = models.CharField(max_length=255)
    user_name_key = models.CharField(
        max_length=IDENTITY_KEY_MAX_BYTES,
        editable=False,
        help_text="identity_key(user_name): what uniqueness and userName filters compare.",
    )
    # NULL only after a PATCH "remove" of active (RFC 7644 §3.5.2.2): unassigned, which this
    # service reads as active; Azure deactivates by sending active=false (docs/azure-scim-client.md
    # §3.4).
    active = models.BooleanField(null=True, default=True)
    display_name = models.CharField(max_length=255, null=True, blank=True)  # noqa: DJ001
    # Copies of values inside ``attributes``, kept as columns only so filters can use an index.
    given_name = models.CharField(max_length=255, null=True, blank=True)  # noqa: DJ001
    family_name = models.CharField(max_length=255, null=True, blank=True)  # noqa: DJ001
    work_email = models.CharField(  # noqa: DJ001
        max_length=320,
        null=True,
        blank=True,
        help_text='The value of emails[type eq "work"], else of the primary email.',
    )
    attributes = models.JSONField(
        default=dict,
        blank=True,
        help_text="Every other SCIM attribute exactly as sent, extensions under their URN.",
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)
    version = models.PositiveIntegerField(default=1)

    objects = IdentityKeyQuerySet.as_manager()

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "user_name_key"],
                name="scim_user_name_key_unique",
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

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Keep ``user_name_key`` in step with ``user_name`` whoever saves the row."""
        self.refresh_identity_key()
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "user_name" in update_fields:
            kwargs["update_fields"] = {*update_fields, "user_name_key"}
        super().save(*args, **kwargs)

    def refresh_identity_key(self) -> None:
        self.user_name_key = identity_key(self.user_name)

    def insert(self) -> None:
        """``save()`` for a new user, in a statement written once per database connection
        (``core.fixedinsert``): the create every provisioning cycle repeats, without compiling
        an INSERT each time. Keeps ``user_name_key`` in step as ``save()`` does; sends no
        ``pre_save``/``post_save`` signals (nothing listens to them for users)."""
        self.refresh_identity_key()
        _USER_INSERT.insert(self)

    def carried_insert(self) -> CarriedInsert:
        """``insert``, for the directory's event statement to carry
        (``directory.outbox.user_created_with_row``): the row and its event in one round trip.
        Keeps ``user_name_key`` in step as ``insert`` does."""
        self.refresh_identity_key()
        return _USER_INSERT.carried(self)

    def save_fields(self, names: Iterable[str]) -> None:
        """``save(update_fields=names)`` in a statement written once per database connection
        and set of fields (``core.fixedupdate``): the write of every user PATCH and PUT. Keeps
        ``user_name_key`` in step as ``save()`` does; sends no signals, as ``insert`` sends
        none."""
        self.refresh_identity_key()
        names = frozenset(names)
        if "user_name" in names:
            names |= {"user_name_key"}
        updater = _USER_UPDATES.get(names)
        if updater is None:
            updater = _USER_UPDATES.setdefault(names, FixedUpdate(ScimUser, names))
        updater.update(self)

    @property
    def etag(self) -> str:
        """Weak entity tag of this version (RFC 7644 §3.14)."""
        return f'W/"{self.version}"'

    @property
    def is_active(self) -> bool:
        """Deactivated only by an explicit ``active: false``."""
        return self.active is not False


_USER_INSERT = FixedInsert(ScimUser)
# One statement per set of fields saved; the code names only a few such sets.
_USER_UPDATES: dict[frozenset[str], FixedUpdate[ScimUser]] = {}


class ScimGroup(models.Model):
    """One provisioned group of an organization (RFC 7643 §4.2).

    Azure requires ``displayName`` to be unique (SCIM tutorial, /Groups); it is, per
    organization, by its ``identity_key``, as a user's ``userName`` is.
    """

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="scim_groups"
    )
    scim_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    external_id = models.CharField(max_length=255, null=True, blank=True)  # noqa: DJ001
    display_name = models.CharField(max_length=255)
    display_name_key = models.CharField(
        max_length=IDENTITY_KEY_MAX_BYTES,
        editable=False,
        help_text="identity_key(display_name): what uniqueness and displayName filters compare.",
    )
    attributes = models.JSONField(
        default=dict, blank=True, help_text="Any other SCIM attribute exactly as sent."
    )
    members = models.ManyToManyField(
        ScimUser, through="GroupMembership", related_name="scim_groups"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)
    version = models.PositiveIntegerField(default=1)

    objects = IdentityKeyQuerySet.as_manager()

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "display_name_key"],
                name="scim_group_display_name_key_unique",
                violation_error_message="displayName is already taken in this organization.",
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "id"], name="scim_group_org_page"),
            models.Index(F("organization"), Upper("external_id"), name="scim_group_external_id_ci"),
        ]

    def __str__(self) -> str:
        return self.display_name

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Keep ``display_name_key`` in step with ``display_name`` whoever saves the row."""
        self.refresh_identity_key()
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "display_name" in update_fields:
            kwargs["update_fields"] = {*update_fields, "display_name_key"}
        super().save(*args, **kwargs)

    def refresh_identity_key(self) -> None:
        self.display_name_key = identity_key(self.display_name)

    @property
    def etag(self) -> str:
        """Weak entity tag of this version (RFC 7644 §3.14)."""
        return f'W/"{self.version}"'


class GroupMembership(models.Model):
    """A user's membership of a group. Both sides always belong to the same organization:
    ``scim.services`` resolves member ids only among the group's own organization's users."""

    # No index of its own: the unique (group, user) constraint leads with it.
    group = models.ForeignKey(
        ScimGroup, on_delete=models.CASCADE, related_name="memberships", db_index=False
    )
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


class ExtensionAttribute(models.Model):
    """An extension attribute (``urn:…:extension:…:<name>``) an organization's Azure has sent.

    Written the first time a write carries it, so ``/Schemas`` can describe what the
    organization sends and staff can see it in the admin. ``value_type`` is the SCIM type of
    the first value seen (RFC 7643 §2.3). At most ``MAX_PER_ORGANIZATION`` per organization, so
    a token cannot grow the table or ``/Schemas`` without bound.
    """

    MAX_PER_ORGANIZATION = 200

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="scim_extension_attributes"
    )
    resource_type = models.CharField(max_length=8)  # "User" or "Group"
    schema = models.CharField(max_length=200)
    name = models.CharField(max_length=100)
    value_type = models.CharField(max_length=16)
    multi_valued = models.BooleanField(default=False)
    first_seen_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["resource_type", "schema", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "resource_type", "schema", "name"],
                name="scim_extension_attribute_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.schema}:{self.name}"
