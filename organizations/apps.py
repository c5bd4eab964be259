from django.apps import AppConfig


class OrganizationsConfig(AppConfig):
    name = "organizations"
    verbose_name = "Organizations and provisioning"

    def ready(self) -> None:
        from core import credentials

        from .credentials import SECRET_TOKEN

        credentials.register(SECRET_TOKEN)
