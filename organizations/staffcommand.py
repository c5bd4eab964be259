"""The staff command base with the lookups of organizations and their tokens."""

from __future__ import annotations

from django.core.management.base import CommandError

from core import tokens
from core.staffcommand import StaffCommand

from .models import TOKEN_PREFIX, Organization, ProvisioningToken


class OrganizationCommand(StaffCommand):
    """A staff command that names organizations by slug and tokens by reference."""

    def get_organization(self, slug: str) -> Organization:
        try:
            return Organization.objects.get(slug=slug)
        except Organization.DoesNotExist:
            raise CommandError(f"No organization has the slug {slug!r}.") from None

    def get_token(self, reference: str) -> ProvisioningToken:
        """The token ``reference`` names: its key, ``k2p_<key>…`` as listed, or the whole token."""
        key = tokens.key_from_reference(reference, TOKEN_PREFIX)
        if key is None:
            # Not echoed back: it may be a mistyped secret.
            raise CommandError(
                "That is not a token reference. Give the k2p_<key> prefix that list_tokens shows."
            )
        try:
            return ProvisioningToken.objects.select_related("organization").get(key=key)
        except ProvisioningToken.DoesNotExist:
            raise CommandError(f"No token has the key {key}.") from None
