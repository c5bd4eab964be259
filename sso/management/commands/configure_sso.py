from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser

from organizations.staffcommand import OrganizationCommand
from sso import services


class Command(OrganizationCommand):
    help = (
        "Configure SAML single sign-on to the portal for the organization SLUG, from the IdP's "
        "metadata URL (Entra's App Federation Metadata URL, or Okta's) or a metadata file, and "
        "choose the provisioned groups whose members may sign in. With --json, stdout is one "
        'JSON object: {"entity_id", "acs_url", "login_url", "metadata_url", ...}.'
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="The organization's slug.")
        source = parser.add_mutually_exclusive_group(required=True)
        source.add_argument("--metadata-url", metavar="URL", help="The IdP's metadata URL.")
        source.add_argument("--metadata-file", metavar="PATH", help="An IdP metadata file.")
        parser.add_argument(
            "--portal-group",
            action="append",
            required=True,
            metavar="NAME",
            help="displayName of a provisioned group whose members may sign "
            "in; repeat for more groups.",
        )
        password = parser.add_mutually_exclusive_group()
        password.add_argument(
            "--allow-password-sign-in",
            action="store_true",
            default=None,
            help="Also let the organization's admins sign in with a password.",
        )
        password.add_argument(
            "--no-password-sign-in",
            dest="allow_password_sign_in",
            action="store_false",
            help="SSO only (the default).",
        )
        parser.add_argument(
            "--json", action="store_true", help="Print one JSON object instead of text."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        organization = self.get_organization(options["slug"])
        metadata_xml = ""
        if options["metadata_file"]:
            try:
                metadata_xml = Path(options["metadata_file"]).read_text()
            except OSError as exc:
                raise CommandError(f"Cannot read the metadata file: {exc}") from exc
        configuration = services.configure_sso(
            organization,
            portal_groups=options["portal_group"],
            actor=self.actor,
            metadata_url=options["metadata_url"] or "",
            metadata_xml=metadata_xml,
            allow_password_sign_in=options["allow_password_sign_in"],
        )
        sp = services.service_provider(organization)
        result = {
            "organization": organization.slug,
            "entity_id": sp.entity_id,
            "acs_url": sp.acs_url,
            "login_url": sp.login_url,
            "metadata_url": sp.metadata_url,
            "idp_entity_id": configuration.idp_entity_id,
            "idp_metadata_url": configuration.metadata_url or None,
            "portal_groups": configuration.group_names,
            "allow_password_sign_in": configuration.allow_password_sign_in,
        }
        if options["json"]:
            self.stdout.write(json.dumps(result))
            return
        idp = organization.identity_provider
        if idp.is_entra:
            labels = ("Identifier (Entity ID)", "Reply URL (ACS)", "Sign on URL")
        else:
            labels = (idp.sp_entity_id_label, idp.sp_acs_label, idp.sp_sign_on_label)
        rows = [
            *zip(labels, (sp.entity_id, sp.acs_url, sp.login_url), strict=True),
            ("SP metadata URL", sp.metadata_url),
            ("Portal groups", ", ".join(configuration.group_names)),
        ]
        width = max(len(label) for label, _ in rows) + 1
        lines = [f"  {f'{label}:':<{width}} {value}" for label, value in rows]
        self.stdout.write(
            f"Single sign-on configured for {organization.name} through "
            f"{configuration.idp_entity_id}.\n"
            f"Paste these into {idp.where_sp_values}:\n" + "\n".join(lines)
        )
