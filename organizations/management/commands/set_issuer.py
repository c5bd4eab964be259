from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from organizations import services
from organizations.identity import RULES, IdentityProviderKind
from organizations.staffcommand import OrganizationCommand


class Command(OrganizationCommand):
    help = (
        "Set the identity provider of the organization SLUG: its --kind (entra, the default "
        "for an organization that has none; okta; saml for any other SAML 2.0 IdP) and its "
        "issuer. Entra: the Microsoft Entra Identifier, https://sts.windows.net/<tenant-id>/ "
        "(or https://login.microsoftonline.com/<tenant-id>/v2.0). Okta: the app's Identity "
        "Provider Issuer, http://www.okta.com/<app id>, or https://<org>.okta.com. Other SAML: "
        "the IdP's entity id, an absolute URI or URN. --clear removes it, which is refused "
        "while provisioning is enabled. Changing it disables single sign-on and workload "
        "identity federation set up for the previous identity provider."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="The organization's slug.")
        parser.add_argument("issuer", nargs="?", default="", help="The issuer or entity id.")
        parser.add_argument(
            "--kind",
            choices=IdentityProviderKind.values,
            help="The identity provider's kind (default: the organization's current kind).",
        )
        parser.add_argument("--clear", action="store_true", help="Remove the issuer.")

    def handle(self, *args: Any, **options: Any) -> None:
        if bool(options["issuer"]) == options["clear"]:
            raise CommandError("Give either an issuer URL or --clear.")
        organization = self.get_organization(options["slug"])
        previous = organization.identity_provider_connection
        services.set_sso_issuer(
            organization, options["issuer"], kind=options["kind"], actor=self.actor
        )
        issuer = organization.sso_issuer or "not set"
        name = RULES[organization.idp_kind].name
        self.stdout.write(f"SSO issuer of {organization.name}: {issuer} ({name})")
        if previous.is_set and previous != organization.identity_provider_connection:
            record = organization.audit_records.first()
            for ended in (record.detail.get("trust_ended") or []) if record else []:
                self.stdout.write(f"Trust of the previous identity provider ended: {ended}.")
