from __future__ import annotations

import json
from typing import Any

from django.core.management.base import CommandParser

from oauth import services as oauth
from organizations.staffcommand import OrganizationCommand


class Command(OrganizationCommand):
    help = (
        "Let the organization SLUG's Entra job authenticate by workload identity federation "
        "(RFC 7523 client assertion): the assertion's issuer, subject and audience. "
        "Reconfiguring keeps the client id and revokes access tokens issued before. With "
        '--json, stdout is one JSON object: {"tenant_url", "token_endpoint", "client_id", ...}.'
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="The organization's slug.")
        parser.add_argument(
            "--issuer",
            required=True,
            help="https://login.microsoftonline.com/<tenant id>: Entra admin center > App "
            "registrations > the app > Overview (Essentials) > Directory (tenant) ID; it must be "
            "the organization's own SSO tenant. The .../v2.0 and v1 "
            "https://sts.windows.net/<tenant id>/ forms are accepted too.",
        )
        parser.add_argument(
            "--subject",
            required=True,
            help="The service principal's Object ID (the token's sub): App registrations > the "
            "app > Essentials > Managed application in local directory > Object ID.",
        )
        parser.add_argument(
            "--audience",
            required=True,
            help="The Application (client) ID, a bare GUID (the aud of v2 tokens): App "
            "registrations > the app > Essentials > Application (client) ID. api://<that id> "
            "is accepted and matches both spellings.",
        )
        parser.add_argument(
            "--jwks-url",
            default="",
            help="Signing keys URL, instead of the issuer's discovery document.",
        )
        parser.add_argument("--label", default="", help="A note, e.g. 'Entra production'.")
        parser.add_argument(
            "--json", action="store_true", help="Print one JSON object instead of text."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        organization = self.get_organization(options["slug"])
        client = oauth.configure_workload_identity(
            organization,
            issuer=options["issuer"],
            subject=options["subject"],
            audience=options["audience"],
            jwks_url=options["jwks_url"],
            actor=self.actor,
            label=options["label"],
        )
        values = {
            "tenant_url": organization.scim_base_url,
            "token_endpoint": oauth.token_endpoint_url(organization),
            "client_id": client.client_id,
            "issuer": client.issuer,
            "subject": client.subject,
            "audience": client.audience,
            "jwks_url": client.jwks_url,
        }
        if options["json"]:
            self.stdout.write(json.dumps(values))
            return
        self.stdout.write(f"Workload identity federation set for {organization.name}.")
        for name, value in values.items():
            self.stdout.write(f"{name.replace('_', ' ').capitalize() + ':':16} {value or '-'}")
