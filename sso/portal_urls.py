"""The organization's SSO page, among the portal's pages (/portal/o/<slug>/sso/) but owned by
``sso``: the portal never imports ``sso``, so ``kno2prov/urls.py`` mounts this under the portal's
path, and the portal's templates link to it only when it is there."""

from django.urls import path

from . import portal_views

app_name = "sso_portal"
urlpatterns = [
    path("", portal_views.page, name="page"),
    path("latest.json", portal_views.latest_sign_in, name="latest"),
]
