from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.core.management.base import CommandParser
from django.views.decorators.debug import sensitive_variables

from organizations import services
from organizations.staffcommand import OrganizationCommand


class Command(OrganizationCommand):
    help = (
        "Replace the token TOKEN (its k2p_<key> prefix, as list_tokens shows) with a new one. "
        "The old token keeps working for the grace period (TOKEN_ROTATION_GRACE_DAYS), so the "
        "customer can paste the new token into Azure AD without interrupting provisioning."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("token", help="The token to rotate: k2p_<key> or its key.")
        parser.add_argument(
            "--expires-days",
            type=int,
            default=None,
            metavar="N",
            help="Days until the new token expires (default 365).",
        )
        parser.add_argument(
            "--grace-days",
            type=int,
            default=None,
            metavar="N",
            help="Days the old token keeps working "
            f"(default {settings.TOKEN_ROTATION_GRACE_DAYS}).",
        )
        parser.add_argument(
            "--json", action="store_true", help="Print one JSON object instead of text."
        )

    @sensitive_variables("plaintext")
    def handle(self, *args: Any, **options: Any) -> None:
        old = self.get_token(options["token"])
        new, plaintext = services.rotate_token(
            old,
            actor=self.actor,
            expires_days=options["expires_days"],
            grace_days=options["grace_days"],
        )
        old.refresh_from_db(fields=["expires_at"])
        organization = old.organization
        if options["json"]:
            self.stdout.write(
                json.dumps(
                    {
                        "tenant_url": organization.scim_base_url,
                        "token": plaintext,
                        "expires_at": new.expires_at.isoformat() if new.expires_at else None,
                        "previous_token_expires_at": old.expires_at.isoformat(),
                    }
                )
            )
            return
        self.stdout.write(
            f"Rotated {old} of {organization.name}: it keeps working until "
            f"{self.format_time(old.expires_at)}. Copy the new token now: it is shown only once."
        )
        self.stdout.write(f"Tenant URL:   {organization.scim_base_url}")
        self.stdout.write(f"Secret Token: {plaintext}")
        self.stdout.write(f"Expires:      {self.format_time(new.expires_at)}")
