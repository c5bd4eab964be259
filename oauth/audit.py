"""The audited actions of OAuth clients and workload identity federation (``core.audit``)."""

from core import audit

OAUTH_CLIENT_ISSUED = audit.register("oauth_client_issued", "OAuth client issued")
CLIENT_SECRET_ROTATED = audit.register("client_secret_rotated", "OAuth client secret rotated")
OAUTH_CLIENT_REVOKED = audit.register("oauth_client_revoked", "OAuth client revoked")
WORKLOAD_IDENTITY_CONFIGURED = audit.register(
    "workload_identity_configured", "Workload identity federation configured"
)
WORKLOAD_IDENTITY_REVOKED_IDP_CHANGED = audit.register(
    "workload_identity_revoked_idp_changed",
    "Workload identity federation revoked: the identity provider changed",
)
