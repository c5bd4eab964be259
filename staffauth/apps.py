from django.apps import AppConfig


class StaffauthConfig(AppConfig):
    """Kno2 staff's second factor in the admin, kept apart from the customers' portal SSO."""

    name = "staffauth"
    verbose_name = "Staff sign-in"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the deploy checks)
