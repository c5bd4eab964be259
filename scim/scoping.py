"""Tenant scoping: the one place that decides which rows a SCIM request may see or change.

Every SCIM read, and every lookup of a row a request changes, goes through ``scoped_queryset``
(directly, or through django-scim2's ``GET_EXTRA_MODEL_FILTER_KWARGS_GETTER`` hook, which is
``extra_filter_kwargs_getter``), but for two lookups that read by ``organization_of(request)``
with a statement of their own: ``userName eq`` (``scim.filters``) and a resource by its id
(``resource_with_id``, what every read, PATCH, PUT and DELETE of ``/Users/{id}`` and
``/Groups/{id}`` starts with). New rows get
``organization_of(request)``, and ``scim.services`` resolves member ids within the group's own
organization. The organization comes only from the credential ``scim.auth`` accepted for this
tenant URL (the call record's ``credential``), never from the request body or the URL alone, so
an id or filter can only ever match rows of the organization the credential belongs to. With no
authenticated organization the answer is an error, never an unscoped queryset: the scope fails
closed.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from django.db.models import Model, QuerySet
from django.http import HttpRequest

from core.fixedselect import FixedSelect
from organizations.models import Organization

from .calls import current_call
from .errors import Unauthorized
from .models import ScimGroup, ScimUser


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


# ``scoped_queryset(model, request).filter(scim_id=…).first()``, and the same with
# ``select_for_update()``, as statements written once (``core.fixedselect``): building and
# compiling that QuerySet was a sixth of a user PATCH's instructions.
# tests/scim/test_resource_by_id.py holds them to the QuerySet.
# ``+ 0`` keeps the organization out of the index search: the row is found by the unique
# ``scim_id`` index and its organization checked, before any lock. Without statistics (a new
# database, autovacuum off) the planner priced an index led by ``organization_id`` the same as
# that probe and read the whole tenant to find one row (README "Issue 21, fifteenth round").
_BY_ID = {
    (model, lock): FixedSelect(
        model,
        where="{organization} + 0 = %s AND {scim_id} = %s",
        params=["organization", "scim_id"],
        lock=lock,
    )
    for model in (ScimUser, ScimGroup)
    for lock in (False, True)
}


def resource_with_id(
    model: type[ScimUser] | type[ScimGroup],
    organization: Organization,
    scim_id: uuid.UUID,
    *,
    for_update: bool = False,
) -> ScimUser | ScimGroup | None:
    """``organization``'s user or group whose id is ``scim_id``, or ``None`` (a view passes
    ``organization_of(request)``); ``for_update`` locks its row until the transaction ends.
    The row's ``organization`` is ``organization``, not read again."""
    found = _BY_ID[model, for_update].one(organization.pk, scim_id)
    if found is not None:
        found.organization = organization
    return found
