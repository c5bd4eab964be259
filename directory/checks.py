"""Deploy check: webhook secrets must not be encrypted with the development key."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.security, deploy=True)
def check_webhook_secret_keys(app_configs, **kwargs) -> list[Error]:
    if settings.WEBHOOK_SECRET_KEYS:
        return []
    return [
        Error(
            "WEBHOOK_SECRET_KEYS is not set: webhook secrets are encrypted with a key derived "
            "from SECRET_KEY.",
            id="kno2prov.E010",
            hint='Set WEBHOOK_SECRET_KEYS to a key from python -c "from cryptography.fernet import '
            'Fernet; print(Fernet.generate_key().decode())".',
        )
    ]
