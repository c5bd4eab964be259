from django.apps import AppConfig


class ScimConfig(AppConfig):
    name = "scim"
    verbose_name = "SCIM directory"

    def ready(self) -> None:
        from .metrics import DISPATCH_UID, count_call
        from .signals import call_completed

        call_completed.connect(count_call, dispatch_uid=DISPATCH_UID)
