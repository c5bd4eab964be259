from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from organizations import services
from organizations.staffcommand import OrganizationCommand


class Command(OrganizationCommand):
    help = (
        "Set the SSO issuer of the organization SLUG: the Microsoft Entra Identifier, "
        "https://sts.windows.net/<tenant-id>/ (or "
        "https://login.microsoftonline.com/<tenant-id>/v2.0). "
        "--clear removes it, which is refused while provisioning is enabled."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="The organization's slug.")
        parser.add_argument("issuer", nargs="?", default="", help="The issuer URL.")
        parser.add_argument("--clear", action="store_true", help="Remove the issuer.")

    def handle(self, *args: Any, **options: Any) -> None:
        if bool(options["issuer"]) == options["clear"]:
            raise CommandError("Give either an issuer URL or --clear.")
        organization = self.get_organization(options["slug"])
        services.set_sso_issuer(organization, options["issuer"], actor=self.actor)
        issuer = organization.sso_issuer or "not set"
        self.stdout.write(f"SSO issuer of {organization.name}: {issuer}")
