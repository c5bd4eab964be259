"""``manage.py prune_sync_history``: delete sync history older than the retention period."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from portal import services


class Command(BaseCommand):
    help = "Delete sync events and cycles older than SYNC_HISTORY_RETENTION_DAYS, in batches."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--days",
            type=int,
            default=None,
            help=f"Keep this many days (default {settings.SYNC_HISTORY_RETENTION_DAYS}).",
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=10_000,
            help="Rows deleted per transaction (default 10000).",
        )

    def handle(self, *args: Any, days: int | None, batch_size: int, **options: Any) -> None:
        if days is not None and days < 1:
            raise CommandError("--days must be at least 1.")
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        events, cycles = services.prune_sync_history(older_than_days=days, batch_size=batch_size)
        self.stdout.write(f"Deleted {events} events and {cycles} cycles.")
