"""The audited actions of the portal (``core.audit``)."""

from core import audit

SET_PASSWORD_LINK_CREATED = audit.register("set_password_link_created", "Set-password link created")
