from django.urls import path
from drf_spectacular.views import SpectacularAPIView

from . import api

app_name = "directory"

urlpatterns = [
    path("events", api.AllEventsView.as_view(), name="events"),
    path(
        "organizations/<slug:slug>/events",
        api.OrganizationEventsView.as_view(),
        name="organization-events",
    ),
    path(
        "schema",
        SpectacularAPIView.as_view(
            urlconf="directory.schema_urls", authentication_classes=[], permission_classes=[]
        ),
        name="schema",
    ),
]
