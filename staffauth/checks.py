"""Deploy checks for the staff second factor."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.security, deploy=True)
def check_staff_mfa_is_required(app_configs, **kwargs) -> list[Error]:
    if settings.STAFF_MFA_REQUIRED:
        return []
    return [
        Error(
            "STAFF_MFA_REQUIRED is off: staff reach the admin with a password alone.",
            hint="Unset STAFF_MFA_REQUIRED (it defaults to true) in production.",
            id="kno2prov.E020",
        )
    ]
