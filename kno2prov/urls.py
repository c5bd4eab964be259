from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from oauth.views import token_endpoint
from portal.views import root
from scim import probes
from scim.metrics import metrics_view
from staffauth.mfa import StaffMfaAdminSite

# The admin's app list is one click away (Home); without the sidebar a list page has the whole
# width of a 1280 px screen for the columns that matter.
admin.site.enable_nav_sidebar = False
if settings.STAFF_MFA_REQUIRED:
    # Every staff session must be verified by a second factor to reach the admin.
    admin.site.__class__ = StaffMfaAdminSite

urlpatterns = [
    path("", root, name="root"),
    path("healthz", probes.liveness, name="healthz"),
    path("readyz", probes.readiness, name="readyz"),
    path("metrics", metrics_view, name="metrics"),
    path("admin/webauthn/", include("staffauth.webauthn_urls")),
    path("admin/", admin.site.urls),
    path("portal/", include("portal.urls")),
    path("portal/o/<slug:slug>/sso/", include("sso.portal_urls")),
    path("api/directory/v1/", include("directory.urls")),
    path("oauth/<uuid:tenant>/token", token_endpoint, name="oauth-token"),
    path("sso/", include("sso.urls")),
    path("scim/v2/<uuid:tenant>/", include("scim.urls")),
    # Whatever under /scim/v2/ names no tenant still gets a SCIM error body, not an HTML page.
    path("scim/v2/", include("scim.fallback_urls")),
]

if settings.BENCH_MODE:
    from scim.benchmarking import ceiling_view

    urlpatterns.append(path("bench/ceiling/<uuid:tenant>", ceiling_view, name="bench-ceiling"))
