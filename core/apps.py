from django.apps import AppConfig


class CoreConfig(AppConfig):
    """The ground layer: imports no other app of the project; every app may import it."""

    name = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from django.utils.module_loading import autodiscover_modules

        from . import checks  # noqa: F401  (registers the deploy checks)

        # Every app's audited actions (``<app>/audit.py``), so the audit log labels them all.
        autodiscover_modules("audit")
