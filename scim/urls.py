"""SCIM endpoints under ``/scim/v2/<tenant>/`` (mounted in ``kno2prov.urls``).

The same routes as django-scim2's ``urls.py``, pointing at this app's views; the ``root``
route that django-scim2's default middleware reverses is not needed, since ``scim.auth``
checks every SCIM view whatever its path.
"""

from django.urls import re_path

from . import views

app_name = "scim"

urlpatterns = [
    re_path(
        r"^(?:Bulk|Me|\.search|Users/\.search|Groups/\.search)/?$",
        views.NotImplementedView.as_view(),
        name="not-implemented",
    ),
    re_path(r"^Users/?$", views.UsersView.as_view(), name="users"),
    re_path(r"^Users/(?P<uuid>[^/]+)/?$", views.UsersView.as_view(), name="user"),
    re_path(r"^Groups/?$", views.GroupsView.as_view(), name="groups"),
    re_path(r"^Groups/(?P<uuid>[^/]+)/?$", views.GroupsView.as_view(), name="group"),
    re_path(
        r"^ServiceProviderConfig/?$",
        views.ServiceProviderConfigView.as_view(),
        name="service-provider-config",
    ),
    re_path(r"^ResourceTypes/?$", views.ResourceTypesView.as_view(), name="resource-types"),
    re_path(
        r"^ResourceTypes/(?P<uuid>[^/]+)/?$",
        views.ResourceTypesView.as_view(),
        name="resource-type",
    ),
    re_path(r"^Schemas/?$", views.SchemasView.as_view(), name="schemas"),
    re_path(r"^Schemas/(?P<uuid>[^/]+)/?$", views.SchemasView.as_view(), name="schema"),
    re_path(r"^.*$", views.UnknownEndpointView.as_view(), name="unknown"),
]
