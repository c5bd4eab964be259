"""The organization's SSO page, among the portal's pages (/portal/o/<slug>/sso/) but owned by
``sso``: the portal never imports ``sso``, so ``kno2prov/urls.py`` mounts this under the portal's
path, and the portal's templates link to it only when it is there."""

from django.urls import path

from . import views

app_name = "sso_portal"
urlpatterns = [
    path("", views.portal_sso, name="page"),
]
