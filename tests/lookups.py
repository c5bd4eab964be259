"""Helpers for tests that hold a hand-written lookup (``core.fixedselect``) to its QuerySet."""

from collections.abc import Callable, Mapping, Sequence
from typing import Any


def found_at_every_tenant(
    lookup: Callable[[Any, str], Any], secrets: Mapping[str, Any], organizations: Sequence[Any]
) -> dict[tuple[str, str], int | None]:
    """What ``lookup(public_id, key)`` finds for each named secret at each organization's
    tenant URL, by ``(name, slug)``: the row's primary key, or ``None``."""
    answers = {}
    for name, secret in secrets.items():
        for organization in organizations:
            found = lookup(organization.public_id, secret.key)
            answers[(name, organization.slug)] = found.pk if found is not None else None
    return answers
