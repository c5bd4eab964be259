from django.apps import AppConfig


class DirectoryConfig(AppConfig):
    """Directory events: the outbox SCIM writes into, webhook delivery and the pull API."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "directory"
    verbose_name = "Directory events and webhooks"
