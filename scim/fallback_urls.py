"""Catch-all for ``/scim/v2/`` paths that carry no valid tenant id.

Include it in ``kno2prov.urls`` after the tenant mount, so it only sees what that one did not
match: ``path("scim/v2/", include("scim.fallback_urls"))``.
"""

from django.urls import re_path

from . import views

app_name = "scim_fallback"

urlpatterns = [
    re_path(r"^.*$", views.unknown_tenant, name="unknown-tenant"),
]
