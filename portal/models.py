"""Sync history (what Azure AD did to an organization) and the tenant admin portal's accounts.

``SyncEvent`` is domain data, not a log: one row per SCIM request that reached an organization,
written by ``portal.recording.record_call`` (a receiver of ``scim.signals.call_completed``)
after the view has answered, so a write that failed and rolled back is recorded too.
``SyncCycle`` groups events into Azure's provisioning cycles with running counters, so
dashboards and health never scan events.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.contrib.auth.models import User
from django.db import models
from django.utils import timezone

from core import credentials
from core.models import HashedSecret
from organizations.models import Organization, ProvisioningToken
from scim.calls import Operation


class SyncCycle(models.Model):
    """A burst of SCIM requests from one organization's provisioning job.

    Azure AD runs a cycle about every 40 minutes (docs/azure-scim-client.md §3.9); a request
    arriving more than ``SYNC_CYCLE_IDLE_MINUTES`` after the previous one starts a new cycle.
    Counters are bumped as events are recorded, so reading a cycle never touches the event table.
    """

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="sync_cycles"
    )
    started_at = models.DateTimeField(default=timezone.now)
    last_event_at = models.DateTimeField(default=timezone.now)
    events = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0, help_text="Users and groups created.")
    updated = models.PositiveIntegerField(
        default=0, help_text="Users and groups updated, renamed or reactivated."
    )
    deactivated = models.PositiveIntegerField(default=0)
    deleted = models.PositiveIntegerField(default=0, help_text="Users and groups deleted.")
    membership_changes = models.PositiveIntegerField(
        default=0, help_text="Members added plus members removed."
    )
    failures = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["organization", "started_at"])]

    def __str__(self) -> str:
        return f"{self.organization} cycle {self.started_at:%Y-%m-%d %H:%M}"

    @property
    def duration(self) -> timedelta:
        return self.last_event_at - self.started_at

    @property
    def succeeded(self) -> int:
        return self.events - self.failures


class SyncEventQuerySet(models.QuerySet):
    def for_organization(self, organization: Organization) -> SyncEventQuerySet:
        return self.filter(organization=organization)

    def failures(self) -> SyncEventQuerySet:
        return self.filter(succeeded=False)

    def newest_first(self) -> SyncEventQuerySet:
        return self.order_by("-created_at", "-id")


class SyncEvent(models.Model):
    """One SCIM request that authenticated with the organization's credentials, successful or
    not. Requests that did not authenticate are only counted (``FailedAuthenticationCount``).

    Never holds the bearer token or the ``Authorization`` header: the token is identified by its
    row, label and non-secret prefix. The path is stored without its query string; the SCIM
    ``filter`` parameter is kept on its own because it explains lookups.
    """

    # No index of its own: syncevent_org_time and six more of the indexes below lead with it.
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="sync_events", db_index=False
    )
    # No database constraint and no index: pruning deletes events and cycles in bulk, and a
    # constraint would make every cycle delete scan millions of events. Cycle pages select
    # their events by organization and time instead.
    cycle = models.ForeignKey(
        SyncCycle,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)
    request_id = models.CharField(max_length=64)

    # Label and prefix are copied so the history still reads right after a token is revoked.
    token = models.ForeignKey(
        ProvisioningToken,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )
    token_label = models.CharField(max_length=100, blank=True)
    token_prefix = models.CharField(max_length=32, blank=True)
    # Which credential made the request: its kind and public id (a token's "k2p_<key>…"
    # prefix, an OAuth client id). Never a secret.
    credential_kind = models.CharField(
        max_length=20, choices=credentials.kind_choices, blank=True, db_default=""
    )
    credential_id = models.CharField(max_length=100, blank=True, db_default="")

    method = models.CharField(max_length=10)
    path = models.CharField(max_length=300)
    operation = models.CharField(max_length=20, choices=Operation.choices)
    summary = models.CharField(max_length=500, blank=True)
    resource_type = models.CharField(max_length=10, blank=True)
    resource_id = models.CharField(max_length=100, blank=True)
    external_id = models.CharField(max_length=200, blank=True)
    subject = models.CharField(max_length=300, blank=True)
    # ``subject`` under SCIM's identity rule (``scim.identity.identity_key``), so a person's
    # page finds the creates refused for a differently-cased name and the lookups of them.
    subject_key = models.CharField(max_length=300, blank=True)
    changes = models.JSONField(default=list, blank=True)
    members_added = models.PositiveIntegerField(default=0)
    members_removed = models.PositiveIntegerField(default=0)
    filter = models.CharField(max_length=500, blank=True)
    results = models.PositiveIntegerField(null=True, blank=True)

    status_code = models.PositiveSmallIntegerField()
    succeeded = models.BooleanField()
    error_type = models.CharField(max_length=40, blank=True)
    error_detail = models.CharField(max_length=1000, blank=True)
    duration_ms = models.FloatField()

    objects = SyncEventQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        # Every portal list is "one organization, newest first", optionally narrowed by one
        # filter; each index below serves one of those lists with a backward index scan.
        indexes = [
            models.Index(fields=["organization", "created_at", "id"], name="syncevent_org_time"),
            models.Index(
                fields=["organization", "operation", "created_at"], name="syncevent_org_op"
            ),
            models.Index(
                fields=["organization", "succeeded", "created_at"], name="syncevent_org_outcome"
            ),
            # Not led by resource_type: the "user" filter matches an id OR a name, and both
            # sides of that OR need an index of their own for a bitmap scan.
            models.Index(
                fields=["organization", "resource_id", "created_at"],
                name="syncevent_org_resource_id",
            ),
            models.Index(
                fields=["organization", "subject", "created_at"], name="syncevent_org_subject"
            ),
            models.Index(
                fields=["organization", "subject_key", "created_at"],
                name="syncevent_org_subject_key",
            ),
            # "Find a user" by the externalId of a create that was refused.
            models.Index(
                fields=["organization", "external_id", "created_at"],
                name="syncevent_org_external_id",
            ),
            # Retention deletes the oldest rows across all organizations.
            models.Index(fields=["created_at"], name="syncevent_time"),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.summary or self.operation}"

    @property
    def outcome(self) -> str:
        return "success" if self.succeeded else "failure"


class MemberChange(models.TextChoices):
    ADDED = "added", "Added"
    REMOVED = "removed", "Removed"
    REFUSED = "refused", "Refused"


class SyncEventMember(models.Model):
    """One member named by a membership change: who was added to or removed from a group, or
    named by a member PATCH that was refused as a whole.

    Ids only, never bodies, and at most ``scim.services.MEMBER_IDS_RECORDED`` per request and
    direction, so storage stays bounded; the event's counters stay exact.

    Neither foreign key is a database constraint: rows are written only by
    ``portal.services._record_members``, with the organization and id of the event it has just
    inserted, so PostgreSQL's two referential checks per row (2,000 for a 1,000-member PATCH,
    about as long as the insert itself) could never fail. Deletion still cascades: pruning and
    deleting an organization go through Django's collector, which deletes these rows first.
    """

    # No index of its own: ``eventmember_org_member`` leads with it.
    organization = models.ForeignKey(
        Organization,
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    event = models.ForeignKey(
        SyncEvent, on_delete=models.CASCADE, related_name="members", db_constraint=False
    )
    created_at = models.DateTimeField()
    group_id = models.CharField(max_length=100, help_text="SCIM id of the group.")
    member_id = models.CharField(max_length=100, help_text="SCIM id of the member, as sent.")
    change = models.CharField(max_length=10, choices=MemberChange.choices)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["organization", "member_id", "created_at"], name="eventmember_org_member"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.member_id} {self.change} in {self.group_id}"


class FailedAuthenticationCount(models.Model):
    """How many requests to an organization's exact tenant URL were refused for their
    credentials in one hour. One row per organization and hour whatever the traffic, so an
    attacker who knows the tenant URL can neither grow the database nor write the history."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="failed_authentication_counts"
    )
    hour = models.DateTimeField(help_text="The start of the hour counted.")
    count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-hour"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "hour"], name="unique_failed_authentication_hour"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.organization} {self.hour:%Y-%m-%d %H}:00 {self.count}"


class PortalRole(models.TextChoices):
    """What a member may do in one organization's portal (``portal.access`` checks it)."""

    VIEWER = "viewer", "Viewer: history, health, Find a user, members"
    ADMIN = "admin", "Admin: also credentials, single sign-on, invitations, webhooks"


class PortalMembership(models.Model):
    """Links a tenant admin's account to an organization whose history they may see, with the
    role they hold there."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="portal_memberships"
    )
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="portal_memberships"
    )
    role = models.CharField(max_length=10, choices=PortalRole.choices, default=PortalRole.VIEWER)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "organization"], name="unique_membership"),
        ]

    def __str__(self) -> str:
        return f"{self.user} → {self.organization}"


class HistoryApiKeyQuerySet(models.QuerySet):
    def active(self) -> HistoryApiKeyQuerySet:
        return self.filter(revoked_at__isnull=True)


class HistoryApiKey(HashedSecret):
    """A credential for an organization's SIEM to read its sync history API.

    Same shape as provisioning tokens (``k2h_<key>_<secret><checksum>``): only a keyed hash is
    stored and the plaintext is shown once, when staff issue it.
    """

    secret_prefix = "k2h_"  # noqa: S105 - a public prefix

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="history_api_keys"
    )

    objects = HistoryApiKeyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "history API key"

    def __str__(self) -> str:
        return self.display_prefix

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class AlertState(models.Model):
    """A condition an organization was alerted about and that has not cleared yet.

    ``manage.py send_alerts`` opens a row (and sends the email) when a condition appears, and
    deletes it when the condition is gone, so each condition is sent once until it clears.
    """

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="alert_states"
    )
    condition = models.CharField(max_length=100)
    message = models.CharField(max_length=1000)
    opened_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["organization", "condition"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "condition"], name="unique_alert_condition"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.organization}: {self.condition}"


class SetPasswordLinkQuerySet(models.QuerySet):
    def usable(self, now: datetime | None = None) -> SetPasswordLinkQuerySet:
        """Links not yet used or replaced, not expired, of accounts that have no usable
        password yet (Django marks an unusable password with a leading ``!``)."""
        return self.filter(
            revoked_at__isnull=True,
            expires_at__gt=now or timezone.now(),
            user__password__startswith=UNUSABLE_PASSWORD_PREFIX,
        )


class SetPasswordLink(HashedSecret):
    """A one-time link that lets a tenant admin set their first password.

    Staff create one with an explicit, audited action; the link (``k2s_…`` in its URL) is shown
    to them once and only a keyed hash of it is kept. It works once, only while the account has
    no usable password, and until ``expires_at``. A new link replaces the previous one
    (``revoked_at``), and using a link sets ``revoked_at`` too.
    """

    secret_prefix = "k2s_"  # noqa: S105 - a public prefix

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="set_password_links"
    )
    expires_at = models.DateTimeField()

    objects = SetPasswordLinkQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "set-password link"

    def __str__(self) -> str:
        return f"set-password link for {self.user} ({self.created_at:%Y-%m-%d %H:%M})"


class InvitationQuerySet(models.QuerySet):
    def usable(self, now: datetime | None = None) -> InvitationQuerySet:
        """Invitations not yet accepted or withdrawn and not expired."""
        return self.filter(revoked_at__isnull=True, expires_at__gt=now or timezone.now())


class Invitation(HashedSecret):
    """A one-time link that makes its holder a member of an organization's portal.

    Created by staff (admin, ``manage.py invite_tenant_admin``) or a customer admin (portal),
    e-mailed to ``email``; only a keyed hash of the ``k2i_…`` link is stored. Accepting it sets
    ``accepted_at`` and ``revoked_at``, so it works once; it expires after
    ``PORTAL_INVITATION_HOURS``.
    """

    secret_prefix = "k2i_"  # noqa: S105 (a public prefix)

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="portal_invitations"
    )
    email = models.EmailField()
    role = models.CharField(max_length=10, choices=PortalRole.choices, default=PortalRole.VIEWER)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    objects = InvitationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "portal invitation"

    def __str__(self) -> str:
        return f"{self.email} → {self.organization} ({self.role})"

    @property
    def status(self) -> str:
        if self.accepted_at is not None:
            return "accepted"
        if self.revoked_at is not None:
            return "withdrawn"
        if self.expires_at <= timezone.now():
            return "expired"
        return "pending"


# Usernames of the portal accounts SAML sign-in creates (``sso.services.portal_user_for``): they
# never get a password, so no set-password link is made for them either.
SSO_USERNAME_PREFIX = "sso-"


class TenantAdmin(User):
    """A customer's administrator: a plain account linked to organizations by memberships."""

    class Meta:
        proxy = True
        verbose_name = "tenant admin"


class OrganizationHealth(Organization):
    """Staff's read-only view of every organization's provisioning health."""

    class Meta:
        proxy = True
        verbose_name = "organization health"
        verbose_name_plural = "organization health"
