from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from organizations.staffcommand import OrganizationCommand


class Command(OrganizationCommand):
    help = (
        "List the provisioning tokens of the organization SLUG: prefix, status, label and "
        "dates. Secrets are never stored, so they are never listed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="The organization's slug.")

    def handle(self, *args: Any, **options: Any) -> None:
        organization = self.get_organization(options["slug"])
        state = "enabled" if organization.provisioning_enabled else "disabled"
        self.stdout.write(f"{organization.name}: provisioning {state}")
        self.stdout.write(f"Tenant URL: {organization.scim_base_url}")
        rows = list(organization.tokens.all())
        if not rows:
            self.stdout.write("No tokens.")
            return
        line = "{:<22} {:<8} {:<21} {:<21} {:<21} {}"
        self.stdout.write(
            line.format("TOKEN", "STATUS", "CREATED", "EXPIRES", "LAST USED", "LABEL")
        )
        for token in rows:
            self.stdout.write(
                line.format(
                    token.display_prefix,
                    token.status,
                    self.format_time(token.created_at),
                    self.format_time(token.expires_at),
                    self.format_time(token.last_used_at),
                    token.label,
                )
            )
