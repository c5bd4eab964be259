"""``manage.py invite_tenant_admin SLUG --email EMAIL --role admin|viewer [--json]``.

E-mails a one-time invitation to the organization's portal and prints its link and expiry
(``{"invitation_url", "expires_at"}`` with ``--json``). Audited, naming the command and the
operating-system user who ran it.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import CommandError, CommandParser

from core.staffcommand import StaffCommand
from organizations.models import Organization
from portal import services
from portal.models import PortalRole


class Command(StaffCommand):
    help = "Invite a customer's administrator (or viewer) to an organization's portal."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="The organization's slug.")
        parser.add_argument("--email", required=True, help="Who to invite.")
        parser.add_argument("--role", required=True, choices=PortalRole.values)
        parser.add_argument("--json", action="store_true", help="Print JSON.")

    def handle(self, *args: Any, **options: Any) -> None:
        organization = Organization.objects.filter(slug=options["slug"]).first()
        if organization is None:
            raise CommandError(f"No organization has the slug {options['slug']!r}.")
        try:
            invitation, url = services.invite(
                organization, email=options["email"], role=options["role"], actor=self.actor
            )
        except services.InvitationRefused as error:
            raise CommandError(str(error)) from error
        if options["json"]:
            payload = {"invitation_url": url, "expires_at": invitation.expires_at.isoformat()}
            self.stdout.write(json.dumps(payload))
            return
        self.stdout.write(f"Invitation e-mailed to {invitation.email} ({invitation.role}).")
        self.stdout.write(f"Link (works once, until {self.format_time(invitation.expires_at)}):")
        self.stdout.write(url)
