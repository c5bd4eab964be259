from pathlib import Path

from django.apps import AppConfig
from django.conf import settings


class CoreConfig(AppConfig):
    """The ground layer: imports no other app of the project; every app may import it."""

    name = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in
        from django.utils.module_loading import autodiscover_modules

        from . import checks  # noqa: F401  (registers the deploy checks)
        from .staffsession import stamp_staff_sign_in

        user_logged_in.connect(stamp_staff_sign_in, dispatch_uid="core.staffsession")

        # Every app's audited actions (``<app>/audit.py``), so the audit log labels them all.
        autodiscover_modules("audit")
        make_local_directories()


def make_local_directories() -> None:
    """Create the folders the settings point at (an SQLite database's, the static files'), once
    Django starts rather than whenever the settings module is imported."""
    database = settings.DATABASES["default"]
    folders = [Path(settings.STATIC_ROOT)]
    if database["ENGINE"] == "django.db.backends.sqlite3" and database["NAME"] != ":memory:":
        folders.append(Path(database["NAME"]).parent)
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
