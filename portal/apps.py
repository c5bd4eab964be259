from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "Sync history and tenant admin portal"

    def ready(self) -> None:
        from . import token_requests

        token_requests.connect()
