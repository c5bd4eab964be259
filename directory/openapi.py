"""How drf-spectacular describes the API keys (bearer tokens) in OpenAPI schemas."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class PlatformApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "directory.api.PlatformApiKeyAuthentication"
    name = "platformApiKey"

    def get_security_definition(self, auto_schema: object) -> dict:
        return {"type": "http", "scheme": "bearer", "bearerFormat": "k2e_… platform API key"}


class HistoryApiKeyScheme(OpenApiAuthenticationExtension):
    """The portal's history API, which the project-wide schema check also walks."""

    target_class = "portal.api.HistoryApiKeyAuthentication"
    name = "historyApiKey"

    def get_security_definition(self, auto_schema: object) -> dict:
        return {"type": "http", "scheme": "bearer", "bearerFormat": "k2h_… history API key"}
