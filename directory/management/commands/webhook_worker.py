"""``manage.py webhook_worker``: the webhook delivery worker.

django-tasks' database worker (``db_worker``) on the ``webhooks`` queue, after first queueing
every stream with pending deliveries, so work a killed worker left behind resumes at once.
Extra options go to ``db_worker`` (``--interval``, ``--max-tasks``, ``--batch``...).
"""

from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from directory.tasks import QUEUE, enqueue_pending


class Command(BaseCommand):
    help = "Run the webhook delivery worker (django-tasks db_worker on the webhooks queue)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--interval", type=float, default=0.5, help="Seconds between looks at an empty queue."
        )
        parser.add_argument("--batch", action="store_true", help="Exit once the queue is empty.")

    def handle(self, *args: Any, **options: Any) -> None:
        queued = enqueue_pending()
        self.stdout.write(f"queued {queued} streams with pending deliveries")
        call_command(
            "db_worker",
            queue_name=QUEUE,
            interval=options["interval"],
            batch=options["batch"],
            reload=False,
            startup_delay=False,
            verbosity=options["verbosity"],
        )
