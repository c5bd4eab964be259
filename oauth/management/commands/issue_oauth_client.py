from __future__ import annotations

import json
from typing import Any

from django.core.management.base import CommandParser
from django.views.decorators.debug import sensitive_variables

from oauth import services as oauth
from organizations.staffcommand import OrganizationCommand


class Command(OrganizationCommand):
    help = (
        "Create an OAuth 2.0 client-credentials client for the organization SLUG and print what "
        "Entra's 'OAuth 2.0 client credentials grant' form needs; the client secret is shown "
        'only this once. With --json, stdout is one JSON object: {"tenant_url", '
        '"token_endpoint", "client_id", "client_secret", "expires_at", ...}.'
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="The organization's slug.")
        parser.add_argument("--label", default="", help="Where it goes, e.g. 'Entra production'.")
        parser.add_argument(
            "--expires-days",
            type=int,
            default=None,
            metavar="N",
            help="Days until the secret expires, 365 to 1095 (default: "
            "OAUTH_CLIENT_SECRET_EXPIRY_DAYS, 730).",
        )
        parser.add_argument(
            "--json", action="store_true", help="Print one JSON object instead of text."
        )

    @sensitive_variables("plaintext")
    def handle(self, *args: Any, **options: Any) -> None:
        organization = self.get_organization(options["slug"])
        client, secret, plaintext = oauth.issue_oauth_client(
            organization,
            actor=self.actor,
            label=options["label"],
            expires_days=options["expires_days"],
        )
        if not organization.provisioning_enabled:
            self.stderr.write(
                f"Warning: provisioning is disabled for {organization.name}; no "
                "access token is issued until it is enabled."
            )
        values = {
            "tenant_url": organization.scim_base_url,
            "token_endpoint": oauth.token_endpoint_url(organization),
            "client_id": client.client_id,
            "client_secret": str(plaintext),
            "expires_at": secret.expires_at.isoformat(),
            "credentials_sent": "Header (client_secret_basic) or Body (client_secret_post)",
        }
        if options["json"]:
            self.stdout.write(json.dumps(values))
            return
        self.stdout.write(
            f"Issued {client} for {organization.name}. Copy the client secret "
            "now: it is shown only once."
        )
        self.stdout.write(f"Tenant URL:      {values['tenant_url']}")
        self.stdout.write(f"Token endpoint:  {values['token_endpoint']}")
        self.stdout.write(f"Client ID:       {values['client_id']}")
        self.stdout.write(f"Client secret:   {plaintext}")
        self.stdout.write(f"Secret expires:  {self.format_time(secret.expires_at)}")
