from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from sso.staff_mfa import StaffMfaAdminSite

from . import health, metrics

if settings.STAFF_MFA_REQUIRED:
    # Every staff session must be verified by a second factor to reach the admin.
    admin.site.__class__ = StaffMfaAdminSite

urlpatterns = [
    path("healthz", health.liveness, name="healthz"),
    path("readyz", health.readiness, name="readyz"),
    path("metrics", metrics.metrics_view, name="metrics"),
    path("admin/webauthn/", include("sso.staff_mfa_views")),
    path("admin/", admin.site.urls),
    path("portal/", include("portal.urls")),
    path("sso/", include("sso.urls")),
    path("scim/v2/<uuid:tenant>/", include("scim.urls")),
    # Whatever under /scim/v2/ names no tenant still gets a SCIM error body, not an HTML page.
    path("scim/v2/", include("scim.fallback_urls")),
]

if settings.BENCH_MODE:
    from .benchmarking import ceiling_view

    urlpatterns.append(path("bench/ceiling/<uuid:tenant>", ceiling_view, name="bench-ceiling"))
