from __future__ import annotations

import json
from typing import Any

from django.core.management.base import CommandParser
from django.views.decorators.debug import sensitive_variables

from organizations import services
from organizations.staffcommand import OrganizationCommand


class Command(OrganizationCommand):
    help = (
        "Issue a provisioning token for the organization SLUG and print its tenant URL and the "
        "token, which is shown only this once. With --json, stdout is exactly one JSON object: "
        '{"tenant_url": ..., "token": ..., "expires_at": ...}.'
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="The organization's slug.")
        parser.add_argument(
            "--label", default="", help="Where the token goes, e.g. 'Azure AD production job'."
        )
        parser.add_argument(
            "--expires-days",
            type=int,
            default=None,
            metavar="N",
            help="Days until the token expires (default: "
            "TOKEN_DEFAULT_EXPIRY_DAYS, 365). Azure AD quarantines the "
            "job when its token expires.",
        )
        parser.add_argument(
            "--json", action="store_true", help="Print one JSON object instead of text."
        )

    @sensitive_variables("plaintext")
    def handle(self, *args: Any, **options: Any) -> None:
        organization = self.get_organization(options["slug"])
        token, plaintext = services.issue_token(
            organization,
            actor=self.actor,
            label=options["label"],
            expires_days=options["expires_days"],
        )
        if not organization.provisioning_enabled:
            self.stderr.write(
                f"Warning: provisioning is disabled for {organization.name}; this token is "
                "refused until it is enabled."
            )
        if options["json"]:
            self.stdout.write(
                json.dumps(
                    {
                        "tenant_url": organization.scim_base_url,
                        "token": plaintext,
                        "expires_at": token.expires_at.isoformat() if token.expires_at else None,
                    }
                )
            )
            return
        self.stdout.write(
            f"Issued {token} for {organization.name}. Copy the token now: it is shown only once."
        )
        self.stdout.write(f"Tenant URL:   {organization.scim_base_url}")
        self.stdout.write(f"Secret Token: {plaintext}")
        self.stdout.write(
            f"Expires:      {self.format_time(token.expires_at)} (Azure AD quarantines the "
            "provisioning job when its token expires; rotate before then.)"
        )
