from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from organizations import services
from organizations.identity import IdentityProviderKind
from organizations.staffcommand import OrganizationCommand


class Command(OrganizationCommand):
    help = (
        "Create a Kno2 organization for SCIM provisioning, optionally with its identity provider "
        "and with provisioning enabled (which needs the issuer). Prints its tenant URL."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", required=True, help="Display name, e.g. 'Riverside Clinic'.")
        parser.add_argument(
            "--slug",
            required=True,
            help="Unique short name used by the other commands, e.g. riverside.",
        )
        parser.add_argument(
            "--issuer",
            default="",
            help="The identity provider's issuer. Entra ID: https://sts.windows.net/<tenant-id>/ "
            "or https://login.microsoftonline.com/<tenant-id>/v2.0; Okta: "
            "http://www.okta.com/<app id> or https://<org>.okta.com; other SAML: its entity id.",
        )
        parser.add_argument(
            "--kind",
            choices=IdentityProviderKind.values,
            default=IdentityProviderKind.ENTRA,
            help="The identity provider's kind: entra (default), okta, or saml (any other "
            "SAML 2.0 IdP).",
        )
        parser.add_argument(
            "--enable-provisioning",
            action="store_true",
            help="Switch provisioning on at once (requires --issuer).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        organization = services.create_organization(
            name=options["name"],
            slug=options["slug"],
            issuer=options["issuer"],
            kind=options["kind"],
            enable_provisioning=options["enable_provisioning"],
            actor=self.actor,
        )
        state = "enabled" if organization.provisioning_enabled else "disabled"
        self.stdout.write(f"Created organization {organization.name} ({organization.slug}).")
        self.stdout.write(f"Identity provider: {organization.identity_provider.name}")
        self.stdout.write(f"SSO issuer:   {organization.sso_issuer or 'not set'}")
        self.stdout.write(f"Provisioning: {state}")
        self.stdout.write(f"Tenant URL:   {organization.scim_base_url}")
