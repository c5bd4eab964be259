from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from organizations import services
from organizations.staffcommand import OrganizationCommand


class Command(OrganizationCommand):
    help = (
        "Disable provisioning for the organization SLUG. Every one of its tokens is refused at "
        "once; nothing is deleted, and enabling provisioning again restores the active tokens."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="The organization's slug.")

    def handle(self, *args: Any, **options: Any) -> None:
        organization = self.get_organization(options["slug"])
        services.disable_provisioning_for(organization, actor=self.actor)
        self.stdout.write(f"Provisioning disabled for {organization.name}.")
