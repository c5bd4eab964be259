"""Sending an (endpoint, organization) stream of events, in position order, at least once.

One worker at a time holds a stream's lease (``DeliveryStream``); it sends the stream's pending
deliveries oldest first and stops at the first failure, so a receiver never sees an event of a
resource before an earlier one (order per organization implies order per resource). A failure
schedules the next attempt from ``WEBHOOK_RETRY_SECONDS`` with jitter; an endpoint failing for
longer than ``WEBHOOK_DISABLE_AFTER_HOURS`` is disabled and staff are emailed.

A delivery is marked delivered only after the receiver answered 2xx, so a worker killed between
the two sends the event again (at-least-once; ``webhook-id`` lets receivers drop duplicates).
"""

from __future__ import annotations

import json
import logging
import os
import random
import socket
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core.mail import mail_admins, send_mail
from django.db.models import Min, Q
from django.utils import timezone
from django.utils.crypto import get_random_string

from core import outbound

from . import signing
from .models import (
    DeliveryStatus,
    DeliveryStream,
    DirectoryEvent,
    WebhookDelivery,
    WebhookEndpoint,
)

logger = logging.getLogger(__name__)

BATCH_SIZE = 100
USER_AGENT = "Kno2-Provisioning-Webhooks/1"
# A receiver's answer body is read and dropped; one larger than this counts as a failure.
RESPONSE_MAX_BYTES = 1_048_576


def worker_id() -> str:
    """A lease owner name unique to this process (host, pid and a random part)."""
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{get_random_string(8)}"


def lease_length() -> timedelta:
    """Long enough for one attempt (``WEBHOOK_LEASE_SECONDS``); renewed before every attempt.
    It is also how long a killed worker's stream waits before another worker resumes it."""
    return timedelta(seconds=settings.WEBHOOK_LEASE_SECONDS)


def payload(event: DirectoryEvent) -> dict:
    """The JSON body of ``event``: the same bytes for every attempt."""
    name_key = "userName" if event.resource_type == "User" else "displayName"
    return {
        "id": event.message_id,
        "type": event.type,
        "position": event.position,
        "created_at": event.created_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "organization": {
            "id": str(event.organization.public_id),
            "slug": event.organization.slug,
        },
        "resource": {
            "type": event.resource_type,
            "id": str(event.resource_id),
            "externalId": event.external_id,
            name_key: event.name,
        },
        "data": event.data,
        "changes": event.changes,
    }


def body_of(event: DirectoryEvent) -> str:
    return json.dumps(payload(event), separators=(",", ":"), sort_keys=True)


def retry_delay(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failure: the schedule's step (the last one repeats),
    times a random factor between 0.5 and 1 ("equal jitter"), so endpoints that failed together
    are not all retried at the same instant."""
    schedule = settings.WEBHOOK_RETRY_SECONDS
    step = schedule[min(attempts, len(schedule)) - 1]
    return timedelta(seconds=step * random.uniform(0.5, 1.0))  # noqa: S311 (not security)


@dataclass
class StreamOutcome:
    delivered: int = 0
    failed: int = 0
    retry_at: datetime | None = None
    busy_until: datetime | None = None
    stopped: bool = False


def _claim(stream: DeliveryStream, owner: str) -> bool:
    now = timezone.now()
    return bool(
        DeliveryStream.objects.filter(pk=stream.pk)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now) | Q(lease_owner=owner))
        .update(lease_owner=owner, lease_until=now + lease_length())
    )


def _release(stream: DeliveryStream, owner: str) -> None:
    DeliveryStream.objects.filter(pk=stream.pk, lease_owner=owner).update(
        lease_owner="", lease_until=None
    )


def _has_due(endpoint_id: int, organization_id: int) -> bool:
    return WebhookDelivery.objects.filter(
        endpoint_id=endpoint_id,
        organization_id=organization_id,
        status=DeliveryStatus.PENDING,
        next_attempt_at__lte=timezone.now(),
        endpoint__is_enabled=True,
    ).exists()


def deliver_stream(endpoint_id: int, organization_id: int, *, owner: str) -> StreamOutcome:
    """Send what is due of one stream, if no other worker is sending it."""
    outcome = StreamOutcome()
    stream, _ = DeliveryStream.objects.get_or_create(
        endpoint_id=endpoint_id, organization_id=organization_id
    )
    while True:
        if not _claim(stream, owner):
            stream.refresh_from_db(fields=["lease_until"])
            outcome.busy_until = stream.lease_until or timezone.now()
            return outcome
        try:
            _drain(stream, owner, outcome)
        finally:
            _release(stream, owner)
        # Something committed while this worker held the lease, after its last look, was
        # skipped by the worker woken for it (the lease was taken): look once more.
        if outcome.retry_at or outcome.stopped or not _has_due(endpoint_id, organization_id):
            return outcome


def _drain(stream: DeliveryStream, owner: str, outcome: StreamOutcome) -> None:
    renewed = timezone.now()  # _claim just set the lease
    while True:
        endpoint = WebhookEndpoint.objects.filter(pk=stream.endpoint_id).first()
        if endpoint is None or not endpoint.is_enabled:
            outcome.stopped = True
            return
        now = timezone.now()
        keys = [
            signing.decrypt(secret.encrypted)
            for secret in endpoint.secrets.all()
            if secret.is_active(now)
        ]
        batch = list(
            WebhookDelivery.objects.filter(
                endpoint_id=stream.endpoint_id,
                organization_id=stream.organization_id,
                status=DeliveryStatus.PENDING,
            )
            .select_related("event__organization")
            .order_by("position")[:BATCH_SIZE]
        )
        if not batch:
            return
        for delivery in batch:
            if delivery.next_attempt_at > timezone.now():
                outcome.retry_at = delivery.next_attempt_at
                return
            # A span of member events is sent one member at a time, from the first not sent.
            for event in delivery.event.expand(after=delivery.position - 1):
                # Renew once a third of the lease has passed; lost only if this worker stalled.
                if timezone.now() - renewed > lease_length() / 3:
                    if not _claim(stream, owner):
                        outcome.stopped = True
                        return
                    renewed = timezone.now()
                if _attempt(endpoint, keys, delivery, event):
                    outcome.delivered += 1
                else:
                    outcome.failed += 1
                    outcome.retry_at = delivery.next_attempt_at
                    return


def post_signed(
    endpoint: WebhookEndpoint, keys: list[str], message_id: str, body: str
) -> tuple[int | None, str]:
    """POST ``body`` to ``endpoint`` signed with ``keys`` (Standard Webhooks headers) through the
    guarded outbound client: ``(status code or None, error or "")``. Every delivery and the
    staff's test event go through here."""
    sent_at = datetime.now(UTC)
    headers = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": message_id,
        "webhook-timestamp": str(int(sent_at.timestamp())),
        "webhook-signature": signing.signature_header(keys, message_id, sent_at, body),
    }
    status_code, error = None, ""
    try:
        # The guarded client: https, a public address checked at connect time, redirects
        # answered but never followed, one deadline for the whole exchange.
        response = outbound.fetch(
            "POST",
            endpoint.url,
            body=body.encode(),
            headers=headers,
            deadline_seconds=settings.WEBHOOK_TIMEOUT_SECONDS,
            max_bytes=RESPONSE_MAX_BYTES,
        )
        status_code = response.status
        if not response.ok:
            error = f"HTTP {status_code}"
    except outbound.OutboundTimeout:
        error = f"no answer within {settings.WEBHOOK_TIMEOUT_SECONDS} s"
    except outbound.OutboundRefused:
        error = "refused: the URL or its address is not allowed (loopback, private, http)"
    except outbound.OutboundError as exc:
        # The class only: messages can repeat the URL, which may carry a receiver's token.
        error = f"connection failed ({type(exc).__name__})"
    return status_code, error


def _attempt(
    endpoint: WebhookEndpoint, keys: list[str], delivery: WebhookDelivery, event: DirectoryEvent
) -> bool:
    """Send ``event`` (the delivery's event, or the member of its span at
    ``delivery.position``) and record the outcome. A member of a span that was not the last
    moves the delivery on to the next member, which starts with no failed attempt."""
    status_code, error = post_signed(endpoint, keys, event.message_id, body_of(event))
    now = timezone.now()
    delivery.attempts += 1
    delivery.last_attempt_at = now
    delivery.last_status_code = status_code
    delivery.last_error = error
    recorded = ["attempts", "last_attempt_at", "last_status_code", "last_error"]
    if not error:
        if event.position < delivery.event.last_position:
            delivery.position = event.position + 1
            delivery.attempts = 0
            delivery.save(update_fields=[*recorded, "position"])
        else:
            delivery.status = DeliveryStatus.DELIVERED
            delivery.delivered_at = now
            delivery.save(update_fields=[*recorded, "status", "delivered_at"])
        if endpoint.failing_since is not None:
            WebhookEndpoint.objects.filter(pk=endpoint.pk).update(failing_since=None)
            endpoint.failing_since = None
        return True
    delivery.next_attempt_at = now + retry_delay(delivery.attempts)
    delivery.save(update_fields=[*recorded, "next_attempt_at"])
    logger.info(
        "webhook attempt failed endpoint=%s event=%s attempt=%s error=%s",
        endpoint.pk,
        event.message_id,
        delivery.attempts,
        error,
    )
    _note_failure(endpoint, error, now)
    return False


def _note_failure(endpoint: WebhookEndpoint, error: str, now: datetime) -> None:
    if endpoint.failing_since is None:
        WebhookEndpoint.objects.filter(pk=endpoint.pk, failing_since__isnull=True).update(
            failing_since=now
        )
        endpoint.failing_since = now
        return
    limit = timedelta(hours=settings.WEBHOOK_DISABLE_AFTER_HOURS)
    if now - endpoint.failing_since >= limit:
        disable_failing(
            endpoint, f"failing since {endpoint.failing_since:%Y-%m-%d %H:%M} UTC (last: {error})"
        )


def disable_failing(endpoint: WebhookEndpoint, reason: str) -> bool:
    """Disable ``endpoint`` and tell staff, once (the conditional update makes it once)."""
    disabled = WebhookEndpoint.objects.filter(pk=endpoint.pk, is_enabled=True).update(
        is_enabled=False, disabled_at=timezone.now(), disabled_reason=reason[:300]
    )
    if not disabled:
        return False
    endpoint.is_enabled = False
    logger.warning("webhook endpoint disabled endpoint=%s reason=%s", endpoint.pk, reason)
    subject = f"Webhook endpoint disabled: {endpoint.url} ({endpoint.scope})"
    message = (
        f"The webhook endpoint {endpoint.url} for {endpoint.scope} was disabled: {reason}.\n"
        f"Its pending events are kept. Fix the receiver, then enable the endpoint in the admin: "
        f"{settings.PUBLIC_BASE_URL}/admin/directory/webhookendpoint/{endpoint.pk}/change/\n"
    )
    if settings.WEBHOOK_ALERT_EMAILS:
        send_mail(subject, message, None, settings.WEBHOOK_ALERT_EMAILS, fail_silently=True)
    else:
        mail_admins(subject, message, fail_silently=True)
    return True


@dataclass(frozen=True)
class DueStream:
    endpoint_id: int
    organization_id: int
    next_attempt_at: datetime


def pending_streams(endpoint_id: int | None = None) -> list[DueStream]:
    """Every stream of an enabled endpoint with a pending delivery, with its earliest attempt."""
    rows = WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING, endpoint__is_enabled=True)
    if endpoint_id is not None:
        rows = rows.filter(endpoint_id=endpoint_id)
    grouped = (
        rows.values("endpoint_id", "organization_id")
        .annotate(earliest=Min("next_attempt_at"))
        .order_by()
    )
    return [
        DueStream(row["endpoint_id"], row["organization_id"], row["earliest"]) for row in grouped
    ]
