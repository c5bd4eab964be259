from django.apps import AppConfig


class DirectoryConfig(AppConfig):
    """Directory events: the outbox SCIM writes into, webhook delivery and the pull API."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "directory"
    verbose_name = "Directory events and webhooks"

    def ready(self) -> None:
        from . import checks, openapi  # noqa: F401  (registers the deploy check, schemes)
