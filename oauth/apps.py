from django.apps import AppConfig


class OAuthConfig(AppConfig):
    """OAuth 2.0 credentials for Entra's provisioning job: clients, the token endpoint and
    workload identity federation. Imports only ``core`` and ``organizations``."""

    name = "oauth"
    verbose_name = "OAuth clients"

    def ready(self) -> None:
        from core import credentials

        from .credentials import KINDS

        for kind in KINDS:
            credentials.register(kind)
