from django.apps import AppConfig


class OAuthConfig(AppConfig):
    """OAuth 2.0 credentials for Entra's provisioning job: clients, the token endpoint and
    workload identity federation. Imports only ``core`` and ``organizations``."""

    name = "oauth"
    verbose_name = "OAuth clients"

    def ready(self) -> None:
        from core import credentials
        from organizations.signals import identity_provider_changed

        from .credentials import KINDS
        from .receivers import identity_provider_changed_receiver

        for kind in KINDS:
            credentials.register(kind)
        identity_provider_changed.connect(
            identity_provider_changed_receiver, dispatch_uid="oauth.identity_provider_changed"
        )
