from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "Sync history and tenant admin portal"

    def ready(self) -> None:
        from scim.signals import call_completed

        from . import token_requests
        from .recording import DISPATCH_UID, record_call

        call_completed.connect(record_call, dispatch_uid=DISPATCH_UID)
        token_requests.connect()
