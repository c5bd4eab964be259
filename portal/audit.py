"""The audited actions of the portal (``core.audit``)."""

from core import audit

SET_PASSWORD_LINK_CREATED = audit.register("set_password_link_created", "Set-password link created")
HISTORY_API_KEY_ISSUED = audit.register("history_api_key_issued", "History API key issued")
HISTORY_API_KEY_REVOKED = audit.register("history_api_key_revoked", "History API key revoked")
INVITATION_SENT = audit.register("portal_invitation_sent", "Portal invitation sent")
INVITATION_ACCEPTED = audit.register("portal_invitation_accepted", "Portal invitation accepted")
