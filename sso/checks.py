"""Deploy checks for single sign-on: pysaml2 cannot check a signature without xmlsec1."""

from __future__ import annotations

import os

from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.security, deploy=True)
def check_xmlsec_binary(app_configs, **kwargs) -> list[Error]:
    if os.access(settings.SSO_XMLSEC_BINARY, os.X_OK):
        return []
    return [
        Error(
            f"SSO_XMLSEC_BINARY ({settings.SSO_XMLSEC_BINARY}) is not an executable xmlsec1.",
            hint="apt-get install xmlsec1, or point SSO_XMLSEC_BINARY at it.",
            id="kno2prov.E030",
        )
    ]
