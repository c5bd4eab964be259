from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from sso import services
from sso.models import SsoConfiguration


class Command(BaseCommand):
    help = (
        "Fetch every organization's IdP metadata URL again and adopt the signing certificates "
        "it lists now (certificate rollover). Schedule it, e.g. hourly. A document that cannot "
        "be used, or names another IdP, is refused and the previous metadata stays in force. "
        "Exits 1 if any refresh failed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", nargs="*", help="Only these organizations.")
        parser.add_argument("--json", action="store_true", help="One JSON object per line.")

    def handle(self, *args: Any, **options: Any) -> None:
        configurations = SsoConfiguration.objects.select_related("organization").exclude(
            metadata_url=""
        )
        if options["slug"]:
            configurations = configurations.filter(organization__slug__in=options["slug"])
        failed = False
        for configuration in configurations:
            result = services.refresh_metadata(configuration)
            failed = failed or bool(result.error)
            if options["json"]:
                self.stdout.write(
                    json.dumps(
                        {
                            "organization": result.organization,
                            "changed": result.changed,
                            "error": result.error or None,
                        }
                    )
                )
            elif result.error:
                self.stderr.write(f"{result.organization}: {result.error}")
            else:
                state = "updated" if result.changed else "unchanged"
                self.stdout.write(f"{result.organization}: metadata {state}")
        if failed:
            raise SystemExit(1)
