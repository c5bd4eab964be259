"""``manage.py prune_directory_events [--days N]``: schedule daily, next to prune_sync_history."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from directory import services


class Command(BaseCommand):
    help = (
        "Delete delivered directory events older than DIRECTORY_EVENT_RETENTION_DAYS, and "
        "finished delivery tasks older than a day."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        deleted = services.prune_events(options["days"])
        tasks = services.prune_task_results()
        self.stdout.write(f"deleted {deleted} directory events and {tasks} finished delivery tasks")
