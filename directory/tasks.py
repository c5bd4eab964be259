"""Webhook delivery as django-tasks tasks, run by its database backend's worker.

The SCIM write enqueues ``deliver_stream_task`` in its own transaction (``directory.outbox``);
a failed attempt or a busy stream enqueues the next wake-up with ``run_after``. Every task is
idempotent: it delivers whatever is due of its stream, so a duplicate wake-up costs one query.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone
from django_tasks import task

from . import delivery
from .models import DeliveryStream

logger = logging.getLogger(__name__)

QUEUE = "webhooks"
_OWNER = delivery.worker_id()


@task(queue_name=QUEUE)
def deliver_stream_task(endpoint_id: int, organization_id: int) -> dict:
    """Deliver what is due of the (endpoint, organization) stream, then book the next wake-up."""
    outcome = delivery.deliver_stream(endpoint_id, organization_id, owner=_OWNER)
    if outcome.retry_at is not None:
        schedule_wakeup(endpoint_id, organization_id, outcome.retry_at)
    elif outcome.busy_until is not None:
        # Another worker holds the lease; if it dies, its lease runs out and this resumes.
        schedule_wakeup(endpoint_id, organization_id, outcome.busy_until + timedelta(seconds=1))
    return {"delivered": outcome.delivered, "failed": outcome.failed}


def schedule_wakeup(endpoint_id: int, organization_id: int, when: datetime) -> bool:
    """Enqueue one wake-up of the stream at ``when``, unless an earlier one is already booked."""
    now = timezone.now()
    booked = (
        DeliveryStream.objects.filter(endpoint_id=endpoint_id, organization_id=organization_id)
        .filter(Q(wakeup_at__isnull=True) | Q(wakeup_at__lte=now) | Q(wakeup_at__gt=when))
        .update(wakeup_at=when)
    )
    if booked:
        deliver_stream_task.using(run_after=when).enqueue(endpoint_id, organization_id)
    return bool(booked)


def enqueue_pending(endpoint_id: int | None = None) -> int:
    """A task for every stream with pending deliveries: what a worker does when it starts, so
    work left by a killed worker (its task row stays "running") is picked up again."""
    streams = delivery.pending_streams(endpoint_id)
    for stream in streams:
        deliver_stream_task.enqueue(stream.endpoint_id, stream.organization_id)
    return len(streams)
