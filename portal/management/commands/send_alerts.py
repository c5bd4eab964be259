"""``manage.py send_alerts``: email tenant admins and staff about new provisioning problems."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from portal import alerts


class Command(BaseCommand):
    help = (
        "Judge every organization with provisioning enabled and email its tenant admins (and "
        "ALERT_STAFF_EMAIL) about each new condition: health turned warning or critical, the "
        "token nears expiry (30 and 7 days), or Azure AD went silent. Each condition is sent "
        "once until it clears. Run it from cron every 5 minutes."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        sent = alerts.send_alerts()
        self.stdout.write(f"Sent {sent} alert email{'s' if sent != 1 else ''}.")
