from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from oauth import services as oauth
from organizations.staffcommand import OrganizationCommand


class Command(OrganizationCommand):
    help = (
        "Revoke an OAuth client (client credentials or workload identity) at once: its secrets "
        "and every access token it obtained are refused from the next request on."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("client_id", help="The client id, k2c_<key>.")

    def handle(self, *args: Any, **options: Any) -> None:
        client = oauth.find_client(options["client_id"])
        if client is None:
            raise CommandError(f"No OAuth client has the id {options['client_id'][:40]!r}.")
        if client.revoked_at is not None:
            self.stdout.write(
                f"{client} was already revoked on {self.format_time(client.revoked_at)}."
            )
            return
        oauth.revoke_oauth_client(client, actor=self.actor)
        self.stdout.write(
            f"Revoked {client} ({client.get_kind_display()}) of {client.organization.name}."
        )
