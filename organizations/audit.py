"""The audited actions of organizations and their provisioning tokens (``core.audit``)."""

from core import audit

ORGANIZATION_CREATED = audit.register("organization_created", "Organization created")
ORGANIZATION_UPDATED = audit.register("organization_updated", "Organization updated")
ISSUER_SET = audit.register("issuer_set", "SSO issuer set")
ISSUER_CLEARED = audit.register("issuer_cleared", "SSO issuer cleared")
PROVISIONING_ENABLED = audit.register("provisioning_enabled", "Provisioning enabled")
PROVISIONING_DISABLED = audit.register("provisioning_disabled", "Provisioning disabled")
TOKEN_ISSUED = audit.register("token_issued", "Token issued")
TOKEN_ROTATED = audit.register("token_rotated", "Token rotated")
TOKEN_REVOKED = audit.register("token_revoked", "Token revoked")
SELF_SERVICE_ENABLED = audit.register("self_service_enabled", "Customer self-service enabled")
SELF_SERVICE_DISABLED = audit.register("self_service_disabled", "Customer self-service disabled")
