from django.apps import AppConfig


class SsoConfig(AppConfig):
    name = "sso"
    verbose_name = "Single sign-on"

    def ready(self) -> None:
        from scim.signals import call_completed

        from . import checks  # noqa: F401  (registers the deploy checks)
        from .departures import DISPATCH_UID, ended_by_scim

        call_completed.connect(ended_by_scim, dispatch_uid=DISPATCH_UID)
