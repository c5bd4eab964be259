"""Directory events (a transactional outbox), webhook endpoints and their deliveries.

An event row is written by ``directory.outbox`` inside the same transaction as the SCIM change
it describes, so an event exists exactly when its change was committed. Each organization's
events carry a gapless, increasing ``position`` taken from that organization's
``EventCounter`` row, which the writing transaction keeps locked until it commits: positions
are therefore in commit order, and a reader that has seen position N has seen every event
before it.

The member changes of one write are one row spanning as many positions as members
(``position`` to ``last_position``, the members listed in ``data["members"]``): a 1,000-member
PATCH writes one row, not 1,000. Everything that reads events (the events API, webhook
delivery) reads them through ``DirectoryEvent.expand``, which gives each member its own event,
position and message id, so no reader sees a span.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone

from core.models import HashedSecret
from organizations.models import Organization


class EventType(models.TextChoices):
    USER_CREATED = "user.created", "User created"
    USER_UPDATED = "user.updated", "User updated"
    USER_DEACTIVATED = "user.deactivated", "User deactivated"
    USER_REACTIVATED = "user.reactivated", "User reactivated"
    USER_DELETED = "user.deleted", "User deleted"
    GROUP_CREATED = "group.created", "Group created"
    GROUP_UPDATED = "group.updated", "Group updated"
    GROUP_DELETED = "group.deleted", "Group deleted"
    GROUP_MEMBER_ADDED = "group.member_added", "Group member added"
    GROUP_MEMBER_REMOVED = "group.member_removed", "Group member removed"


class EventCounter(models.Model):
    """The last position handed out for an organization's events; locked while allocating."""

    organization = models.OneToOneField(
        Organization, primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    last_position = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.organization_id}: {self.last_position}"


class DirectoryEvent(models.Model):
    """One change to an organization's directory, as the rest of Kno2fy learns of it.

    ``data`` is the resource's state after the change (for a member event: the group and the
    member); ``changes`` lists ``{"attribute", "old", "new"}`` for updates.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # No index of its own: the unique (organization, position) constraint leads with it.
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="directory_events", db_index=False
    )
    position = models.BigIntegerField()
    last_position = models.BigIntegerField(
        help_text="The row's last position: its position, or the last member's of a span."
    )
    type = models.CharField(max_length=32, choices=EventType.choices)
    resource_type = models.CharField(max_length=8)  # "User" or "Group"
    resource_id = models.UUIDField()
    external_id = models.CharField(max_length=255, null=True, blank=True)  # noqa: DJ001
    name = models.CharField(max_length=255, help_text="userName or displayName.")
    data = models.JSONField(default=dict)
    changes = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["organization", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "position"], name="directory_event_position_unique"
            ),
            # What readers range over: the rows holding any position after a reader's cursor.
            models.UniqueConstraint(
                fields=["organization", "last_position"], name="directory_event_last_unique"
            ),
        ]

    def __str__(self) -> str:
        if self.last_position != self.position:
            return f"{self.type} #{self.position}-{self.last_position}"
        return f"{self.type} #{self.position}"

    @property
    def message_id(self) -> str:
        """The Standard Webhooks ``webhook-id``: the same for every attempt of this event."""
        return f"evt_{self.public_id.hex}"

    @property
    def is_span(self) -> bool:
        """A member event row that lists its members (rows written before spans name one
        ``member``)."""
        return (
            self.type in (EventType.GROUP_MEMBER_ADDED, EventType.GROUP_MEMBER_REMOVED)
            and isinstance(self.data, dict)
            and "members" in self.data
        )

    def expand(self, after: int = 0) -> list[DirectoryEvent]:
        """The events this row holds with a position after ``after``: itself, or one unsaved
        event per member of a span, each ``{"group", "member"}`` as a single member event's
        data, with its own position and a message id derived from the row's (the same on every
        read and every delivery attempt)."""
        if not self.is_span:
            return [self] if self.position > after else []
        group = self.data["group"]
        organization = self.organization if "organization" in self._state.fields_cache else None
        events = []
        for index, member in enumerate(self.data["members"]):
            position = self.position + index
            if position <= after:
                continue
            event = DirectoryEvent(
                id=self.id,
                public_id=uuid.uuid5(self.public_id, str(index)),
                organization_id=self.organization_id,
                position=position,
                last_position=position,
                type=self.type,
                resource_type=self.resource_type,
                resource_id=self.resource_id,
                external_id=self.external_id,
                name=self.name,
                data={"group": group, "member": member},
                changes=[],
                created_at=self.created_at,
            )
            if organization is not None:
                event.organization = organization
            events.append(event)
        return events


class WebhookEndpoint(models.Model):
    """A URL that receives signed directory events of one organization, or of all of them."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(
        Organization,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="webhook_endpoints",
        help_text="Empty: every organization's events (the Kno2fy platform).",
    )
    url = models.URLField(max_length=2000)
    description = models.CharField(max_length=200, blank=True)
    is_enabled = models.BooleanField(default=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=300, blank=True)
    failing_since = models.DateTimeField(
        null=True, blank=True, help_text="First failed attempt since the last success."
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.url

    @property
    def scope(self) -> str:
        return self.organization.slug if self.organization_id else "all organizations"


class WebhookSecret(models.Model):
    """A signing secret of an endpoint, encrypted at rest with ``WEBHOOK_SECRET_KEYS``.

    Signing needs the secret itself, so it cannot be hashed like tokens are. After a rotation
    the old secret keeps signing (a second ``v1,`` signature) until ``expires_at``, so the
    receiver can switch without dropping a message.
    """

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="secrets")
    encrypted = models.TextField(editable=False)
    hint = models.CharField(max_length=16, editable=False, help_text="whsec_ and 4 characters.")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.hint}…"

    def is_active(self, now: datetime | None = None) -> bool:
        return self.expires_at is None or self.expires_at > (now or timezone.now())


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"


class WebhookDelivery(models.Model):
    """One event for one endpoint: the delivery log, and the work queue of the worker.

    ``organization`` copies the event's and ``position`` is the next position to send (the
    event's, or in a span of member events the first member not yet delivered), so the worker
    finds the next delivery of a stream (endpoint, organization) with one index range scan.
    """

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.ForeignKey(DirectoryEvent, on_delete=models.CASCADE, related_name="+")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    position = models.BigIntegerField()
    status = models.CharField(
        max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["endpoint", "organization", "position"]
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "event"], name="webhook_delivery_once"),
        ]
        indexes = [
            models.Index(
                fields=["endpoint", "organization", "status", "position"],
                name="webhook_delivery_stream",
            ),
            models.Index(fields=["status", "next_attempt_at"], name="webhook_delivery_due"),
        ]

    def __str__(self) -> str:
        return f"#{self.position} → {self.endpoint_id} ({self.status})"

    @staticmethod
    def events_left() -> models.Expression:
        """How many events a pending delivery still has to send: its event's, or in a span the
        members from ``position`` on (for counting pending events, not rows)."""
        return models.F("event__last_position") - models.F("position") + 1


class DeliveryStream(models.Model):
    """The lease that lets one worker at a time deliver an (endpoint, organization) stream.

    Claiming is one conditional ``UPDATE`` (the row lock makes a concurrent claim wait and then
    find the lease taken), so two workers never send the same stream's events at once, and a
    killed worker's lease simply runs out.
    """

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="+")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    lease_owner = models.CharField(max_length=64, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    wakeup_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "organization"], name="delivery_stream"),
        ]

    def __str__(self) -> str:
        return f"{self.endpoint_id}/{self.organization_id}"


class PlatformApiKeyQuerySet(models.QuerySet):
    def active(self) -> PlatformApiKeyQuerySet:
        return self.filter(revoked_at__isnull=True)


class PlatformApiKey(HashedSecret):
    """A credential of the Kno2fy platform for the events pull API (``k2e_…``).

    Without an organization it reads every organization's events.
    """

    secret_prefix = "k2e_"  # noqa: S105 - a public prefix

    organization = models.ForeignKey(
        Organization,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="platform_api_keys",
    )

    objects = PlatformApiKeyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "platform API key"

    def __str__(self) -> str:
        return self.display_prefix
