"""``manage.py sync_history SLUG [--limit N] [--json]``: an organization's recent sync events."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from organizations.models import Organization
from portal import history
from portal.models import SyncEvent
from portal.serializers import event_json


class Command(BaseCommand):
    help = "Print an organization's most recent sync events, newest first."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="The organization's slug.")
        parser.add_argument("--limit", type=int, default=50, help="How many events (default 50).")
        parser.add_argument(
            "--json",
            action="store_true",
            dest="as_json",
            help="One JSON object per line, for scripts.",
        )

    def handle(self, *args: Any, slug: str, limit: int, as_json: bool, **options: Any) -> None:
        organization = Organization.objects.filter(slug=slug).first()
        if organization is None:
            raise CommandError(f"No organization with slug {slug!r}.")
        if limit < 1:
            raise CommandError("--limit must be at least 1.")
        events = history.events_for(organization, history.EventFilters())[:limit]
        for event in events:
            if as_json:
                self.stdout.write(_as_json(event))
            else:
                outcome = "ok  " if event.succeeded else "FAIL"
                error = f" {event.error_type}: {event.error_detail}" if not event.succeeded else ""
                self.stdout.write(
                    f"{event.created_at:%Y-%m-%d %H:%M:%S} {outcome} {event.status_code} "
                    f"{event.summary}{error} [{event.request_id}]"
                )


def _as_json(event: SyncEvent) -> str:
    return json.dumps(event_json(event), ensure_ascii=False)
