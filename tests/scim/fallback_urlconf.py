"""The project's URLs plus the SCIM fallback, as ``kno2prov.urls`` should mount it."""

from django.urls import include, path

from kno2prov.urls import urlpatterns as project_urlpatterns

urlpatterns = [*project_urlpatterns, path("scim/v2/", include("scim.fallback_urls"))]
