"""``manage.py deliver_webhooks --until-idle``: deliver everything due now, then exit.

For operators and scripted checks; production runs ``manage.py webhook_worker``. Retries that
fall due within the next minute are waited for; later ones are left to the worker.
"""

from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db.models import Sum
from django.utils import timezone

from directory import delivery
from directory.models import DeliveryStatus, WebhookDelivery

WAIT_HORIZON = timedelta(minutes=1)


class Command(BaseCommand):
    help = "Deliver every due webhook (waiting for retries due within a minute), then exit."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--until-idle",
            action="store_true",
            required=True,
            help="Exit once nothing is due within the next minute.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        owner = delivery.worker_id()
        delivered = failed = 0
        while True:
            wake = []
            for stream in delivery.pending_streams():
                outcome = delivery.deliver_stream(
                    stream.endpoint_id, stream.organization_id, owner=owner
                )
                delivered += outcome.delivered
                failed += outcome.failed
                if outcome.retry_at or outcome.busy_until:
                    wake.append(outcome.retry_at or outcome.busy_until)
            if not wake:
                if not delivery.pending_streams():
                    break
                continue
            wait = (min(wake) - timezone.now()).total_seconds()
            if wait > WAIT_HORIZON.total_seconds():
                break
            time.sleep(max(wait, 0) + 0.05)
        # Events, not rows: a group change's members wait in one delivery, from its position on.
        pending = (
            WebhookDelivery.objects.filter(
                status=DeliveryStatus.PENDING, endpoint__is_enabled=True
            ).aggregate(events=Sum(WebhookDelivery.events_left()))["events"]
            or 0
        )
        self.stdout.write(
            json.dumps({"delivered": delivered, "failed_attempts": failed, "pending": pending})
        )
