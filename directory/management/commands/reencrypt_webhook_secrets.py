"""``manage.py reencrypt_webhook_secrets``: after putting a new key first in
``WEBHOOK_SECRET_KEYS``, encrypt every webhook secret with it; then the old keys can go."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from directory import services


class Command(BaseCommand):
    help = (
        "Encrypt every webhook signing secret with the first key of WEBHOOK_SECRET_KEYS, so the "
        "other keys can be removed afterwards."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        changed = services.reencrypt_secrets()
        self.stdout.write(
            f"re-encrypted {changed} webhook secrets with the first WEBHOOK_SECRET_KEYS key; "
            "the other keys can now be removed"
        )
