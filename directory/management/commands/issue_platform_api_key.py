"""``manage.py issue_platform_api_key (SLUG | --all-organizations) [--label L] [--json]``."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from directory import services
from organizations.models import Organization


class Command(BaseCommand):
    help = "Issue an events API key for one organization or all; prints it once."

    def add_arguments(self, parser: CommandParser) -> None:
        scope = parser.add_mutually_exclusive_group(required=True)
        scope.add_argument("slug", nargs="?")
        scope.add_argument("--all-organizations", action="store_true")
        parser.add_argument("--label", default="")
        parser.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        organization = None
        if not options["all_organizations"]:
            organization = Organization.objects.filter(slug=options["slug"]).first()
            if organization is None:
                raise CommandError(f"no organization with slug {options['slug']!r}")
        api_key, plaintext = services.issue_platform_api_key(
            organization, actor=None, label=options["label"]
        )
        if options["json"]:
            self.stdout.write(json.dumps({"key": api_key.display_prefix, "api_key": plaintext}))
        else:
            self.stdout.write(f"API key (shown only now): {plaintext}")
