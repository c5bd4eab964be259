"""Only the events API, for its OpenAPI schema (the portal's own API is not part of it)."""

from django.urls import include, path

urlpatterns = [path("api/directory/v1/", include("directory.urls"))]
