"""``manage.py prune_sign_in_attempts``: delete SSO sign-in log rows and unverified counts
older than the retention period (schedule it daily)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from sso import services


class Command(BaseCommand):
    help = "Delete SSO sign-in attempts and counts older than SSO_SIGN_IN_RETENTION_DAYS."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--days",
            type=int,
            default=None,
            help=f"Keep this many days (default {settings.SSO_SIGN_IN_RETENTION_DAYS}).",
        )

    def handle(self, *args: Any, days: int | None, **options: Any) -> None:
        if days is not None and days < 1:
            raise CommandError("--days must be at least 1.")
        deleted = services.prune_sign_in_log(older_than_days=days)
        self.stdout.write(f"Deleted {deleted} sign-in attempts.")
