from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The quick start: ``bootstrap_demo`` and the Azure AD cycle it replays. At the top of the
    apps: it uses all of them and none uses it."""

    name = "demo"
    verbose_name = "Quick-start demo"
