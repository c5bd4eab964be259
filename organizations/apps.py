from django.apps import AppConfig


class OrganizationsConfig(AppConfig):
    name = "organizations"
    verbose_name = "Organizations and provisioning"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the deploy checks)
