from django.apps import AppConfig


class SsoConfig(AppConfig):
    name = "sso"
    verbose_name = "Single sign-on"

    def ready(self) -> None:
        from organizations.signals import identity_provider_changed

        from . import checks  # noqa: F401  (registers the deploy checks)
        from .receivers import identity_provider_changed_receiver

        identity_provider_changed.connect(
            identity_provider_changed_receiver, dispatch_uid="sso.identity_provider_changed"
        )
