from __future__ import annotations

import json
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.views.decorators.debug import sensitive_variables

from oauth import services as oauth
from organizations.staffcommand import OrganizationCommand


class Command(OrganizationCommand):
    help = (
        "Add a new secret to a client-credentials client and let its current secret lapse "
        "after the grace period (TOKEN_ROTATION_GRACE_DAYS). The new secret is shown once."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("client_id", help="The client id, k2c_<key>.")
        parser.add_argument("--expires-days", type=int, default=None, metavar="N")
        parser.add_argument("--grace-days", type=int, default=None, metavar="N")
        parser.add_argument("--json", action="store_true")

    @sensitive_variables("plaintext")
    def handle(self, *args: Any, **options: Any) -> None:
        client = oauth.find_client(options["client_id"])
        if client is None:
            raise CommandError(f"No OAuth client has the id {options['client_id'][:40]!r}.")
        secret, plaintext = oauth.rotate_client_secret(
            client,
            actor=self.actor,
            expires_days=options["expires_days"],
            grace_days=options["grace_days"],
        )
        if options["json"]:
            self.stdout.write(
                json.dumps(
                    {
                        "client_id": client.client_id,
                        "client_secret": str(plaintext),
                        "expires_at": secret.expires_at.isoformat(),
                    }
                )
            )
            return
        self.stdout.write(f"New secret for {client} (shown once): {plaintext}")
        self.stdout.write(f"Expires: {self.format_time(secret.expires_at)}")
