from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from organizations import services
from organizations.staffcommand import OrganizationCommand


class Command(OrganizationCommand):
    help = (
        "Revoke a provisioning token at once: TOKEN is its k2p_<key> prefix as list_tokens "
        "shows (a whole leaked token works too), or --all SLUG revokes every token of an "
        "organization. Azure AD requests with a revoked token are refused from then on."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        target = parser.add_mutually_exclusive_group(required=True)
        target.add_argument("token", nargs="?", help="The token to revoke: k2p_<key> or its key.")
        target.add_argument(
            "--all",
            metavar="SLUG",
            dest="all_of",
            help="Revoke every token of the organization SLUG.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["all_of"]:
            organization = self.get_organization(options["all_of"])
            revoked = services.revoke_tokens(organization, actor=self.actor)
            for token in revoked:
                self.stdout.write(f"Revoked {token} ({token.label or 'no label'}).")
            self.stdout.write(f"{organization.name}: {len(revoked)} token(s) revoked.")
            return
        token = self.get_token(options["token"])
        if token.is_revoked:
            revoked_at = self.format_time(token.revoked_at)
            self.stdout.write(f"{token} was already revoked on {revoked_at}.")
            return
        services.revoke_token(token, actor=self.actor)
        self.stdout.write(
            f"Revoked {token} ({token.label or 'no label'}) of {token.organization.name}."
        )
