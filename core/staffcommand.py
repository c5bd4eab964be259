"""What every staff management command shares: a named actor and clean errors."""

from __future__ import annotations

import getpass
from datetime import UTC, datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError


def describe(error: ValidationError) -> str:
    """A one-line message for staff, naming the field when the error belongs to one."""
    if hasattr(error, "error_dict"):
        return " ".join(
            f"{field}: {' '.join(message for e in errors for message in e.messages)}"
            if field != "__all__"
            else " ".join(m for e in errors for m in e.messages)
            for field, errors in error.error_dict.items()
        )
    return " ".join(error.messages)


class StaffCommand(BaseCommand):
    """A command that acts through ``services``; a rule it breaks is a ``CommandError``."""

    def execute(self, *args: Any, **options: Any) -> str | None:
        try:
            return super().execute(*args, **options)
        except ValidationError as error:
            raise CommandError(describe(error)) from error

    @property
    def actor(self) -> str:
        """Who the audit log names: the command and the operating-system user running it."""
        name = type(self).__module__.rsplit(".", 1)[-1]
        try:
            user = getpass.getuser()
        except (OSError, KeyError):
            user = "unknown user"
        return f"manage.py {name} ({user})"

    def format_time(self, value: datetime | None) -> str:
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if value else "never"
