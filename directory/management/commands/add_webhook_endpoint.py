"""``manage.py add_webhook_endpoint (SLUG | --all-organizations) --url URL [--json]``."""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.validators import URLValidator

from directory import services
from organizations.models import Organization


class Command(BaseCommand):
    help = "Add a webhook endpoint for one organization or all; prints its secret once."

    def add_arguments(self, parser: CommandParser) -> None:
        scope = parser.add_mutually_exclusive_group(required=True)
        scope.add_argument("slug", nargs="?", help="The organization's slug.")
        scope.add_argument(
            "--all-organizations",
            action="store_true",
            help="Every organization's events (the Kno2fy platform).",
        )
        parser.add_argument("--url", required=True)
        parser.add_argument("--description", default="")
        parser.add_argument("--json", action="store_true", help="Print id, url and secret as JSON.")

    def handle(self, *args: Any, **options: Any) -> None:
        organization = None
        if not options["all_organizations"]:
            organization = Organization.objects.filter(slug=options["slug"]).first()
            if organization is None:
                raise CommandError(f"no organization with slug {options['slug']!r}")
        try:
            URLValidator(schemes=["http", "https"])(options["url"])
        except ValidationError as exc:
            raise CommandError(f"not an http(s) URL: {options['url']!r}") from exc
        try:
            services.check_endpoint_url(options["url"])
        except ValidationError as exc:
            raise CommandError(exc.messages[0]) from exc
        endpoint, secret = services.add_endpoint(
            organization, url=options["url"], description=options["description"], actor=None
        )
        if options["json"]:
            self.stdout.write(
                json.dumps(
                    {
                        "id": str(endpoint.public_id),
                        "url": endpoint.url,
                        "organization": organization.slug if organization else None,
                        "secret": str(secret),
                    }
                )
            )
        else:
            self.stdout.write(
                f"Endpoint {endpoint.public_id} for {endpoint.scope}\n"
                f"Secret (shown only now): {secret}"
            )
