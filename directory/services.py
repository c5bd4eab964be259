"""Staff operations on webhook endpoints, platform API keys and event retention.

The admin and the management commands call these; each returns what it did and logs it.
"""

from __future__ import annotations

import json
import logging
import uuid
from datetime import UTC, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, Subquery, Value
from django.db.models.functions import Greatest
from django.utils import timezone

from core import outbound, tokens
from organizations.models import Organization
from organizations.services import record_audit

from . import audit, delivery, signing
from .models import (
    DeliveryStatus,
    DirectoryEvent,
    PlatformApiKey,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookSecret,
)
from .tasks import enqueue_pending

logger = logging.getLogger(__name__)

API_KEY_PREFIX = PlatformApiKey.secret_prefix
PRUNE_BATCH = 5000


def _actor(actor: Any) -> Any:
    return actor if actor is not None and getattr(actor, "pk", None) else None


def check_endpoint_url(url: str) -> None:
    """Refuse (``ValidationError``) a receiver URL directory data must not go to: plain http
    (unless ``DEBUG``, or a loopback receiver with ``OUTBOUND_ALLOW_LOOPBACK``) or a literal
    loopback, private, link-local or otherwise non-public address (``http://169.254.169.254``).
    Names are checked again at every delivery, on the address actually connected to."""
    try:
        outbound.check_url(url)
    except outbound.OutboundRefused as exc:
        raise ValidationError(f"Not an allowed webhook URL: {exc}") from exc


@transaction.atomic
def add_endpoint(
    organization: Organization | None, *, url: str, actor: Any, description: str = ""
) -> tuple[WebhookEndpoint, signing.Secret]:
    """Create an endpoint for ``organization`` (``None``: every organization) with a fresh
    secret; returns the secret's plaintext, which is never shown again."""
    check_endpoint_url(url)
    endpoint = WebhookEndpoint.objects.create(
        organization=organization, url=url, description=description, created_by=_actor(actor)
    )
    secret = _new_secret(endpoint)
    record_audit(
        organization,
        audit.WEBHOOK_ENDPOINT_ADDED,
        actor=actor,
        endpoint=endpoint.pk,
        url=url,
        secret=signing.hint(secret) + "…",
    )
    logger.info(
        "webhook endpoint added endpoint=%s org=%s",
        endpoint.pk,
        organization.pk if organization else "all",
    )
    return endpoint, secret


def _new_secret(endpoint: WebhookEndpoint) -> signing.Secret:
    secret = signing.generate_secret()
    WebhookSecret.objects.create(
        endpoint=endpoint, encrypted=signing.encrypt(secret), hint=signing.hint(secret)
    )
    return secret


@transaction.atomic
def rotate_secret(
    endpoint: WebhookEndpoint, *, actor: Any, overlap_hours: int | None = None
) -> signing.Secret:
    """A new secret; the current ones keep signing for ``overlap_hours``
    (``WEBHOOK_SECRET_OVERLAP_HOURS``) so the receiver can switch without losing a message."""
    hours = settings.WEBHOOK_SECRET_OVERLAP_HOURS if overlap_hours is None else overlap_hours
    expires = timezone.now() + timedelta(hours=hours)
    endpoint.secrets.filter(expires_at__isnull=True).update(expires_at=expires)
    endpoint.secrets.filter(expires_at__gt=expires).update(expires_at=expires)
    secret = _new_secret(endpoint)
    record_audit(
        endpoint.organization,
        audit.WEBHOOK_SECRET_ROTATED,
        actor=actor,
        endpoint=endpoint.pk,
        url=endpoint.url,
        secret=signing.hint(secret) + "…",
        overlap_hours=hours,
    )
    logger.info("webhook secret rotated endpoint=%s by=%s", endpoint.pk, getattr(actor, "pk", None))
    return secret


def enable_endpoint(endpoint: WebhookEndpoint, *, actor: Any) -> None:
    """Enable again; what was pending when it was disabled is delivered next."""
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        is_enabled=True, disabled_at=None, disabled_reason="", failing_since=None
    )
    endpoint.is_enabled = True
    record_audit(
        endpoint.organization,
        audit.WEBHOOK_ENDPOINT_ENABLED,
        actor=actor,
        endpoint=endpoint.pk,
        url=endpoint.url,
    )
    retry_now(endpoint)
    logger.info(
        "webhook endpoint enabled endpoint=%s by=%s", endpoint.pk, getattr(actor, "pk", None)
    )


def disable_endpoint(endpoint: WebhookEndpoint, *, actor: Any) -> None:
    """Stop delivering; events written meanwhile are not queued (replay them when enabling)."""
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        is_enabled=False,
        disabled_at=timezone.now(),
        disabled_reason=f"disabled by {getattr(actor, 'username', 'staff')}",
    )
    endpoint.is_enabled = False
    record_audit(
        endpoint.organization,
        audit.WEBHOOK_ENDPOINT_DISABLED,
        actor=actor,
        endpoint=endpoint.pk,
        url=endpoint.url,
    )
    logger.info(
        "webhook endpoint disabled endpoint=%s by=%s", endpoint.pk, getattr(actor, "pk", None)
    )


TEST_EVENT_TYPE = "webhook.test"


def send_test_event(endpoint: WebhookEndpoint, *, actor: Any) -> tuple[int | None, str]:
    """Send ``endpoint`` one signed ``webhook.test`` event now, the way every delivery is sent
    (``delivery.post_signed``), and audit it. The event is not part of any organization's
    stream: no position, nothing kept, nothing retried. Returns ``(status code, error)``."""
    now = timezone.now()
    keys = [
        signing.decrypt(secret.encrypted)
        for secret in endpoint.secrets.all()
        if secret.is_active(now)
    ]
    message_id = f"evt_test_{uuid.uuid4().hex}"
    organization = endpoint.organization
    body = json.dumps(
        {
            "id": message_id,
            "type": TEST_EVENT_TYPE,
            "created_at": now.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "organization": (
                {"id": str(organization.public_id), "slug": organization.slug}
                if organization is not None
                else None
            ),
            "data": {"message": "A test event sent from Kno2 provisioning: nothing changed."},
        },
        separators=(",", ":"),
        sort_keys=True,
    )
    status_code, error = delivery.post_signed(endpoint, keys, message_id, body)
    record_audit(
        organization,
        audit.WEBHOOK_TEST_SENT,
        actor=actor,
        endpoint=endpoint.pk,
        url=endpoint.url,
        status=status_code,
        error=error,
    )
    logger.info("webhook test endpoint=%s status=%s", endpoint.pk, status_code)
    return status_code, error


def retry_now(endpoint: WebhookEndpoint) -> int:
    """Make every pending delivery of ``endpoint`` due now and wake its streams."""
    count = WebhookDelivery.objects.filter(endpoint=endpoint, status=DeliveryStatus.PENDING).update(
        next_attempt_at=timezone.now()
    )
    enqueue_pending(endpoint.pk)
    return count


@transaction.atomic
def replay_from(
    endpoint: WebhookEndpoint, position: int, *, organization: Organization | None = None
) -> int:
    """Send again every kept event from ``position`` on (of ``organization``, or of every
    organization the endpoint covers), in order. Returns how many deliveries were queued."""
    events = DirectoryEvent.objects.filter(last_position__gte=position)
    if endpoint.organization_id:
        events = events.filter(organization_id=endpoint.organization_id)
    if organization is not None:
        events = events.filter(organization=organization)
    now = timezone.now()
    existing = WebhookDelivery.objects.filter(endpoint=endpoint, event_id=OuterRef("pk"))
    missing = events.filter(~Exists(existing)).values_list("pk", "organization_id", "position")
    WebhookDelivery.objects.bulk_create(
        [
            WebhookDelivery(
                endpoint=endpoint,
                event_id=pk,
                organization_id=org,
                position=max(pos, position),
                next_attempt_at=now,
            )
            for pk, org, pos in missing.iterator()
        ],
        batch_size=1000,
        ignore_conflicts=True,
    )
    # A span that holds ``position`` is sent again from that member on, the others whole.
    event_position = DirectoryEvent.objects.filter(pk=OuterRef("event_id")).values("position")
    count = WebhookDelivery.objects.filter(endpoint=endpoint, event__in=events).update(
        status=DeliveryStatus.PENDING,
        next_attempt_at=now,
        delivered_at=None,
        position=Greatest(Subquery(event_position), Value(position)),
    )
    transaction.on_commit(lambda: enqueue_pending(endpoint.pk))
    logger.info("webhook replay endpoint=%s from=%s deliveries=%s", endpoint.pk, position, count)
    return count


def reencrypt_secrets() -> int:
    """Encrypt every stored webhook secret with the first of ``WEBHOOK_SECRET_KEYS`` (after a new
    key was put first), so the old keys can then be removed; returns how many rows changed.

    Each row is updated only if it still holds what was read, so a secret rotated meanwhile is
    left as its rotation wrote it (already under the first key)."""
    changed = 0
    for pk, encrypted in WebhookSecret.objects.order_by("pk").values_list("pk", "encrypted"):
        rotated = signing.reencrypt(encrypted)
        changed += WebhookSecret.objects.filter(pk=pk, encrypted=encrypted).update(
            encrypted=rotated
        )
    logger.info("webhook secrets re-encrypted count=%s", changed)
    return changed


def prune_events(days: int | None = None) -> int:
    """Delete events older than ``days`` (``DIRECTORY_EVENT_RETENTION_DAYS``) that no endpoint
    still has to deliver, in batches so no statement locks the table for long."""
    days = settings.DIRECTORY_EVENT_RETENTION_DAYS if days is None else days
    cutoff = timezone.now() - timedelta(days=days)
    pending = WebhookDelivery.objects.filter(event_id=OuterRef("pk"), status=DeliveryStatus.PENDING)
    old = DirectoryEvent.objects.filter(created_at__lt=cutoff).filter(~Exists(pending))
    deleted = 0
    while True:
        batch = list(old.values_list("pk", flat=True)[:PRUNE_BATCH])
        if not batch:
            break
        WebhookDelivery.objects.filter(event_id__in=batch).delete()
        deleted += DirectoryEvent.objects.filter(pk__in=batch).delete()[0]
    logger.info("directory events pruned events=%s cutoff=%s", deleted, cutoff.isoformat())
    return deleted


def prune_task_results(days: int = 1) -> int:
    """Delete finished delivery task rows (django-tasks keeps one per wake-up) after ``days``."""
    from django_tasks_db.models import DBTaskResult

    from .tasks import QUEUE

    cutoff = timezone.now() - timedelta(days=days)
    deleted, _ = (
        DBTaskResult.objects.finished().filter(queue_name=QUEUE, finished_at__lt=cutoff).delete()
    )
    return deleted


@transaction.atomic
def issue_platform_api_key(
    organization: Organization | None, *, actor: Any, label: str = ""
) -> tuple[PlatformApiKey, str]:
    """A key for the events API (``None``: every organization); the plaintext, once."""
    key = tokens.generate_key()
    plaintext = tokens.build_token(key, API_KEY_PREFIX)
    api_key = PlatformApiKey.objects.create(
        organization=organization,
        key=key,
        label=label,
        created_by=_actor(actor),
        digest=tokens.hash_token(plaintext, settings.TOKEN_PEPPER),
    )
    record_audit(
        organization,
        audit.PLATFORM_API_KEY_ISSUED,
        actor=actor,
        key=api_key.display_prefix,
        label=label,
    )
    logger.info(
        "platform api key issued key=%s org=%s", key, organization.pk if organization else "all"
    )
    return api_key, plaintext


@transaction.atomic
def revoke_platform_api_key(api_key: PlatformApiKey, *, actor: Any) -> None:
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
        record_audit(
            api_key.organization,
            audit.PLATFORM_API_KEY_REVOKED,
            actor=actor,
            key=api_key.display_prefix,
        )
        logger.info(
            "platform api key revoked key=%s by=%s", api_key.key, getattr(actor, "pk", None)
        )


def authenticate_platform_key(presented: str) -> PlatformApiKey | None:
    """The active key ``presented`` is, or ``None`` (``HashedSecret.verify``: constant-time,
    records the use at most every ``TOKEN_LAST_USED_RESOLUTION_SECONDS``)."""
    return PlatformApiKey.verify(
        PlatformApiKey.objects.active().select_related("organization"),
        presented,
        prefix=API_KEY_PREFIX,
    )
