"""The audited actions of customer single sign-on (``core.audit``)."""

from core import audit

SSO_CONFIGURED = audit.register("sso_configured", "Single sign-on configured")
SSO_PASSWORD_SIGN_IN = audit.register(
    "sso_password_sign_in", "Password sign-in beside single sign-on changed"
)
SSO_ENABLED = audit.register("sso_enabled", "Single sign-on enabled")
SSO_DISABLED = audit.register("sso_disabled", "Single sign-on disabled")
SSO_DISABLED_IDENTITY_PROVIDER_CHANGED = audit.register(
    "sso_disabled_idp_changed", "Single sign-on disabled: the identity provider changed"
)
