"""What OAuth does with news from lower apps (connected in ``OAuthConfig.ready``)."""

from __future__ import annotations

from typing import Any

from organizations.identity import IdentityProviderConnection
from organizations.models import Organization
from organizations.services import Actor

from . import services


def identity_provider_changed_receiver(
    sender: type,
    *,
    organization: Organization,
    previous: IdentityProviderConnection,
    current: IdentityProviderConnection,
    actor: Actor,
    **kwargs: Any,
) -> list[str]:
    """``organizations.signals.identity_provider_changed``: revoke the old tenant's federation."""
    return services.end_trust_of_previous_identity_provider(organization, current, actor)
