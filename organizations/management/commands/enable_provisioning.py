from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from organizations import services
from organizations.staffcommand import OrganizationCommand


class Command(OrganizationCommand):
    help = (
        "Enable provisioning for the organization SLUG, so its SCIM client (Entra ID, Okta, …) "
        "can provision with its active credentials. Refused until the organization's identity "
        "provider is set, of any kind (see set_issuer --kind)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="The organization's slug.")

    def handle(self, *args: Any, **options: Any) -> None:
        organization = self.get_organization(options["slug"])
        services.enable_provisioning_for(organization, actor=self.actor)
        self.stdout.write(f"Provisioning enabled for {organization.name}.")
        self.stdout.write(f"Tenant URL: {organization.scim_base_url}")
