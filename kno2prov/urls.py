from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("portal/", include("portal.urls")),
    path("scim/v2/<uuid:tenant>/", include("scim.urls")),
]
