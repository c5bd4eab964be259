"""The audited actions of webhook endpoints and platform API keys (``core.audit``)."""

from core import audit

WEBHOOK_ENDPOINT_ADDED = audit.register("webhook_endpoint_added", "Webhook endpoint added")
WEBHOOK_SECRET_ROTATED = audit.register("webhook_secret_rotated", "Webhook signing secret rotated")
WEBHOOK_ENDPOINT_ENABLED = audit.register("webhook_endpoint_enabled", "Webhook endpoint enabled")
WEBHOOK_ENDPOINT_DISABLED = audit.register("webhook_endpoint_disabled", "Webhook endpoint disabled")
WEBHOOK_TEST_SENT = audit.register("webhook_test_sent", "Webhook test event sent")
PLATFORM_API_KEY_ISSUED = audit.register("platform_api_key_issued", "Platform API key issued")
PLATFORM_API_KEY_REVOKED = audit.register("platform_api_key_revoked", "Platform API key revoked")
