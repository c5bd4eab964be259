from __future__ import annotations

import json
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.views.decorators.debug import sensitive_variables

from staffauth import mfa


class Command(BaseCommand):
    help = (
        "Give the staff account USERNAME an authenticator app (TOTP) and fresh recovery codes, "
        "and print the secret, its otpauth:// URI and the codes, once. The admin requires a "
        "second factor for every staff account; this is how the first one is enrolled. With "
        '--json, stdout is one object: {"username", "totp_secret", "otpauth_uri", '
        '"recovery_codes"}.'
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument(
            "--replace",
            action="store_true",
            help="Remove the account's earlier authenticator apps first.",
        )
        parser.add_argument("--json", action="store_true")

    @sensitive_variables("enrolment", "codes")
    def handle(self, *args: Any, **options: Any) -> None:
        user = get_user_model().objects.filter(username=options["username"]).first()
        if user is None or not user.is_staff:
            raise CommandError(f"No staff account is named {options['username']!r}.")
        enrolment = mfa.enrol_totp(user, replace=options["replace"])
        codes = mfa.new_recovery_codes(user)
        if options["json"]:
            self.stdout.write(
                json.dumps(
                    {
                        "username": user.get_username(),
                        "totp_secret": enrolment.secret,
                        "otpauth_uri": enrolment.uri,
                        "recovery_codes": codes,
                    }
                )
            )
            return
        self.stdout.write(f"Authenticator secret: {enrolment.secret}")
        self.stdout.write(f"otpauth URI:          {enrolment.uri}")
        self.stdout.write("Recovery codes (each works once):")
        for code in codes:
            self.stdout.write(f"  {code}")
