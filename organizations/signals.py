"""News organizations sends up the layers; higher apps subscribe in their ``AppConfig.ready``.

``identity_provider_changed`` is sent inside the transaction that changes an organization's
identity-provider connection (another kind, Entra tenant or issuer; not an Entra issuer's format
alone, nor setting a first one), after the new values are saved.
Receivers end the old connection's trust in that same transaction, so no request can meet the
new connection beside the old trust: ``sso`` disables single sign-on configured for the old IdP,
``oauth`` revokes workload identity federation bound to the old tenant.

Arguments: ``organization`` (saved, with the new values), ``previous`` and ``current``
(``organizations.identity.IdentityProviderConnection``) and ``actor`` (``services.Actor``).
Each receiver audits what it ended and returns a list of short descriptions of it ("single
sign-on disabled", …), which the issuer's own audit record lists as ``trust_ended``.
"""

from django.dispatch import Signal

identity_provider_changed = Signal()
