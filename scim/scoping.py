"""Tenant scoping: the one place that decides which rows a SCIM request may see or change.

Every SCIM read, and every lookup of a row a request changes, goes through ``scoped_queryset``
(directly, or through django-scim2's ``GET_EXTRA_MODEL_FILTER_KWARGS_GETTER`` hook, which is
``extra_filter_kwargs_getter``), but for the ``userName eq`` lookup, which reads by
``organization_of(request)`` with a statement of its own (``scim.filters``). New rows get
``organization_of(request)``, and ``scim.services`` resolves member ids within the group's own
organization. The organization comes only from the credential ``scim.auth`` accepted for this
tenant URL (the call record's ``credential``), never from the request body or the URL alone, so
an id or filter can only ever match rows of the organization the credential belongs to. With no
authenticated organization the answer is an error, never an unscoped queryset: the scope fails
closed.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db.models import Model, QuerySet
from django.http import HttpRequest

from organizations.models import Organization

from .calls import current_call
from .errors import Unauthorized


def organization_of(request: HttpRequest | None) -> Organization:
    """The organization whose credential ``scim.auth`` accepted for this call, or ``401``."""
    call = current_call(request)
    organization = call.organization if call is not None else None
    if not isinstance(organization, Organization):
        raise Unauthorized("Authentication required")
    return organization


def extra_filter_kwargs(request: HttpRequest | None, *args: object, **kwargs: object) -> dict:
    """Filter kwargs that confine a query to the request's organization."""
    return {"organization": organization_of(request)}


def extra_filter_kwargs_getter(model: type[Model]) -> Callable[..., dict]:
    """django-scim2 hook ``GET_EXTRA_MODEL_FILTER_KWARGS_GETTER``: the same scope for every
    model; users and groups both carry an ``organization`` foreign key."""
    return extra_filter_kwargs


def scoped_queryset(model: type[Model], request: HttpRequest | None) -> QuerySet:
    """``model``'s rows of the request's organization, and no others."""
    return model._default_manager.filter(**extra_filter_kwargs(request))


def base_location(request: HttpRequest | None = None, *args: object, **kwargs: object) -> str:
    """django-scim2 hook ``BASE_LOCATION_GETTER``: the organization's tenant URL.

    django-scim2 builds locations with ``reverse()``, which cannot fill in the per-tenant
    ``<uuid:tenant>`` of our URL prefix; every location here is built from this base instead.
    """
    return organization_of(request).scim_base_url
