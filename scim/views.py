"""SCIM endpoints under each organization's tenant URL, on django-scim2's views.

The views keep django-scim2's dispatch (bearer check through ``AUTH_CHECK_MIDDLEWARE``, SCIM
exceptions rendered as RFC 7644 §3.12 bodies) and replace the handlers whose defaults do not
hold up for a multi-tenant Azure AD service provider:

* lists count and page in the database over a tenant-scoped ``QuerySet`` and load the page's
  ``members``/``groups`` with one more query, instead of loading every row and then one query
  per resource;
* single-resource GET honours ``excludedAttributes=members`` and skips reading members;
* group PATCH answers 204 (Microsoft's SCIM tutorial), or 200 with the resource when the client
  asks for attributes;
* discovery ListResponses carry ``totalResults``.

Each request is described in its ``scim.calls.ScimCall`` (what it did, how it ended), created
before anything can fail, for the rate limits; once the view has answered, the completed record
goes out in ``scim.signals.call_completed`` (the sync history and the metrics listen).
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, ValidationError
from django.db import DataError, transaction
from django.http import HttpRequest, HttpResponse
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_exempt
from django_scim import views as scim_views
from django_scim.constants import SCIM_CONTENT_TYPE
from django_scim.exceptions import SCIMException

from . import adapters, documents, scoping, services
from .calls import Operation, ResourceType, ScimCall, begin, current_call
from .errors import (
    InvalidFilter,
    InvalidSyntax,
    InvalidValue,
    MethodNotAllowed,
    NotFound,
    NotImplementedYet,
    PayloadTooLarge,
    UnexpectedError,
)
from .faults import DATABASE_FAULTS, RETRY_AFTER_SECONDS, DatabaseFaultsMixin, unavailable_response
from .filters import Search, looked_up_value
from .models import ScimGroup, ScimUser
from .patch import operations_of
from .signals import sends_call_completed

logger = logging.getLogger(__name__)


def scim_response(
    body: dict | None, status: int = 200, *, location: str | None = None, etag: str | None = None
) -> HttpResponse:
    response = HttpResponse(
        content=json.dumps(body) if body is not None else b"",
        content_type=SCIM_CONTENT_TYPE,
        status=status,
    )
    if location:
        response["Location"] = location
    if etag:
        response["ETag"] = etag
    return response


def list_response(resources: list[dict], total: int, start: int) -> dict:
    """RFC 7644 §3.4.2: a ListResponse, ``totalResults`` always present."""
    return {
        "schemas": [documents.LIST_RESPONSE],
        "totalResults": total,
        "itemsPerPage": len(resources),
        "startIndex": start,
        "Resources": resources,
    }


def _text(value: object) -> str:
    """A body value fit for the call record: strings only, and short."""
    return value[:255] if isinstance(value, str) else ""


def _no_constants(name: str) -> None:
    """``NaN`` and ``Infinity`` are not JSON (RFC 8259 §6), though Python accepts them."""
    raise ValueError(f"{name} is not a JSON value")


class CallOutcomeMixin(DatabaseFaultsMixin):
    """Notes the SCIM error a handler raised in the call record, before django-scim2's
    ``dispatch`` renders it, so nobody has to read the error back from the response body."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return super().dispatch(request, *args, **kwargs)
        except SCIMException as exc:
            call = current_call(request)
            if call is not None:
                call.fail(int(exc.status), exc.scim_type, str(exc.detail))
            raise


class ScimViewMixin:
    """Shared dispatch: the call record, CSRF exemption, SCIM bodies for every failure."""

    resource_type: ResourceType = ResourceType.NONE
    operations: dict[str, Operation] = {}
    request: HttpRequest
    kwargs: dict

    @method_decorator(csrf_exempt)
    @method_decorator(sends_call_completed)
    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        single = bool(kwargs.get("uuid"))
        call = begin(
            request,
            tenant=kwargs.get("tenant"),
            resource_type=self.resource_type,
            operation=self.operations.get(f"{request.method}:{'one' if single else 'many'}"),
        )
        if single:
            call.resource_id = _text(kwargs["uuid"])[:100]
        return self._dispatch(request, *args, **kwargs)

    def _dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            response = super().dispatch(request, *args, **kwargs)  # type: ignore[misc]
        except DATABASE_FAULTS:
            # The bearer-token check runs outside django-scim2's own error handling.
            logger.warning("scim authentication failed: database unavailable")
            current_call(request).fail(503, None, "database unavailable")
            return unavailable_response()
        if response.status_code == 503:
            response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        elif response.status_code == 405:
            # RFC 9110 §15.5.6: a 405 MUST list the methods the target does support.
            scope = ":one" if kwargs.get("uuid") else ":many"
            response["Allow"] = ", ".join(
                sorted({key.split(":")[0] for key in self.operations if key.endswith(scope)})
            )
        elif response.status_code == 500:
            # django-scim2's catch-all answers "status": 500, a number; RFC 7644 §3.12 says
            # the status is a JSON string.
            error = UnexpectedError("The request could not be completed; it changed nothing")
            response.content = json.dumps(error.to_dict())
            current_call(request).fail(500, None, error.detail)
        if response.status_code == 204:
            del response["Content-Type"]
        elif not response.get("Content-Type", "").startswith(SCIM_CONTENT_TYPE):
            response["Content-Type"] = SCIM_CONTENT_TYPE
        return response

    def http_method_not_allowed(
        self, request: HttpRequest, *args: Any, **kwargs: Any
    ) -> HttpResponse:
        raise MethodNotAllowed(f"{request.method} is not allowed here")

    def load_body(self, body: bytes | None = None) -> dict:
        """The JSON object in the request body, or 400 ``invalidSyntax``.

        Any content type is accepted: Azure sends ``application/scim+json; charset=utf-8``
        and older clients ``application/json`` (docs/azure-scim-client.md §3.1).
        """
        try:
            raw = self.request.body
        except RequestDataTooBig as exc:
            raise PayloadTooLarge("request body is too large") from exc
        try:
            parsed = json.loads(raw.decode("utf-8"), parse_constant=_no_constants)
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise InvalidSyntax("request body is not valid JSON") from exc
        if not isinstance(parsed, dict):
            raise InvalidSyntax("request body must be a JSON object")
        documents.check_storable(parsed)
        return parsed

    @property
    def call(self) -> ScimCall:
        return current_call(self.request)

    def get_object(self, *, for_update: bool = False) -> Any:
        """The resource named in the URL, within the token's organization, or 404.

        A malformed id is simply not found: ids are opaque to clients (RFC 7643 §3.1).
        """
        raw = self.kwargs.get("uuid")
        try:
            scim_id = uuid.UUID(raw)
        except (ValueError, TypeError):
            raise NotFound(f"Resource {raw} not found") from None
        obj = scoping.resource_with_id(
            self.model_cls,
            scoping.organization_of(self.request),
            scim_id,
            for_update=for_update,
        )
        if obj is None:
            raise NotFound(f"Resource {raw} not found")
        return obj

    def page(self) -> tuple[int, int]:
        """``startIndex`` and ``count`` (RFC 7644 §3.4.2.4): below 1 means 1, a negative count
        means 0, and the page never exceeds ``SCIM_MAX_PAGE_SIZE``."""
        maximum = settings.SCIM_MAX_PAGE_SIZE
        try:
            start = int(self.request.GET.get("startIndex") or 1)
            count = int(self.request.GET.get("count") or maximum)
        except ValueError as exc:
            raise InvalidValue("startIndex and count must be whole numbers") from exc
        return max(start, 1), min(max(count, 0), maximum)

    def projection(self) -> tuple[str | None, str | None]:
        return self.request.GET.get("attributes"), self.request.GET.get("excludedAttributes")

    def respond(self, obj: Any, status: int = 200, *, created: bool = False) -> HttpResponse:
        """One resource; ``created`` skips reading relations a new resource cannot have."""
        adapter = self.adapter_for([obj], created=created)[0]
        body = adapters.project(adapter.to_dict(), *self.projection())
        return scim_response(body, status, location=adapter.location, etag=obj.etag)

    def adapter_for(self, objs: list, *, created: bool = False) -> list:
        raise NotImplementedError

    def _search(self, request: HttpRequest, query: str, start: int, count: int) -> HttpResponse:
        self.call.filter = query
        # A lookup of one user or group by name: the history files it under that name.
        self.call.display_name = _text(looked_up_value(query))
        found = self.__class__.parser_getter().find(query, request)  # type: ignore[attr-defined]
        try:
            if found.at_most_one:
                objs, total = self._the_one_and_total(found, start, count)
            else:
                objs, total = self._page_and_total(found.queryset, start, count)
        except (ValidationError, ValueError, TypeError, DataError) as exc:
            # Some values are only converted when the query is compiled (a malformed
            # meta.lastModified, say) or refused by the database (a NUL character in a string
            # on PostgreSQL): that is the client's filter at fault, a 400.
            raise InvalidFilter(
                f"filter {query!r} has a value of the wrong type or an invalid character"
            ) from exc
        return self._build_response(request, objs, start, total)

    @staticmethod
    def _page_and_total(qs: Any, start: int, count: int) -> tuple[list, int]:
        """The page's resources and ``totalResults``.

        A first page is read before anything is counted: when it comes back short of
        ``count``, it holds every result, so the total is its length without a ``COUNT``
        (every ``userName eq`` lookup Azure sends, found or not, is one statement fewer).
        Otherwise one ``COUNT`` tells, and a later page is read only when it exists.
        """
        if start == 1 and count:
            objs = list(qs.order_by("pk")[:count])
            if len(objs) < count:
                return objs, len(objs)
            return objs, qs.count()
        total = qs.count()
        wanted = count and start <= total
        objs = list(qs.order_by("pk")[start - 1 : start - 1 + count]) if wanted else []
        return objs, total

    @staticmethod
    def _the_one_and_total(found: Search, start: int, count: int) -> tuple[list, int]:
        """``_page_and_total`` for a filter that pins one row by a unique column (every
        ``userName eq`` lookup Azure and Okta send): one unordered read.

        Asked for the first page in ``pk`` order, PostgreSQL may walk the organization's rows in
        that order and test each one against the filter rather than probe the unique index and
        sort: without column statistics (a new database) it expects a handful of rows per
        organization, and every lookup became a scan of the tenant (README, "Issue 21, seventh
        round"). Where the search can read its one row without a QuerySet (``read_one``), it does.
        """
        if found.read_one is not None:
            one = found.read_one()
            rows = [] if one is None else [one]
        else:
            rows = list(found.queryset.order_by()[:1])
        return (rows if start == 1 and count else []), len(rows)

    def _build_response(
        self, request: HttpRequest, objs: list, start: int, total: int
    ) -> HttpResponse:
        self.call.results = total
        if total == 1 and len(objs) == 1 and self.call.filter:
            self.call.resource_id = str(objs[0].scim_id)
        resources = [
            adapters.project(adapter.to_dict(), *self.projection())
            for adapter in self.adapter_for(objs)
        ]
        return scim_response(list_response(resources, total, start))

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if kwargs.get("uuid"):
            return self.get_single(request)
        return self.get_many(request)

    def get_single(self, request: HttpRequest) -> HttpResponse:
        obj = self.get_object()
        self.describe(obj)
        return self.respond(obj)

    def get_many(self, request: HttpRequest) -> HttpResponse:
        start, count = self.page()
        query = request.GET.get("filter")
        if query is not None:
            return self._search(request, query, start, count)
        objs, total = self._page_and_total(
            scoping.scoped_queryset(self.model_cls, request), start, count
        )
        return self._build_response(request, objs, start, total)

    def describe(self, obj: Any) -> None:
        self.call.resource_id = str(obj.scim_id)
        self.call.external_id = obj.external_id or ""

    def collection_only(self) -> None:
        if self.kwargs.get("uuid"):
            raise MethodNotAllowed(f"{self.request.method} goes to the collection, not an id")

    def resource_only(self) -> None:
        if not self.kwargs.get("uuid"):
            raise MethodNotAllowed(f"{self.request.method} needs a resource id in the URL")


class UsersView(ScimViewMixin, scim_views.UsersView, CallOutcomeMixin):
    """``/Users`` and ``/Users/<id>`` (RFC 7644 §3.3–§3.6)."""

    resource_type = ResourceType.USER
    operations = {
        "GET:one": Operation.GET_USER,
        "GET:many": Operation.LIST_USERS,
        "HEAD:one": Operation.GET_USER,
        "HEAD:many": Operation.LIST_USERS,
        "POST:many": Operation.CREATE_USER,
        "PUT:one": Operation.UPDATE_USER,
        "PATCH:one": Operation.UPDATE_USER,
        "DELETE:one": Operation.DELETE_USER,
    }

    def adapter_for(self, objs: list, *, created: bool = False) -> list:
        groups: dict[int, list[dict]] = {}
        if objs and not created and adapters.wants("groups", *self.projection()):
            groups = adapters.groups_by_user(objs, scoping.base_location(self.request))
        return [
            adapters.ScimUserAdapter(obj, self.request, groups=groups.get(obj.pk)) for obj in objs
        ]

    def describe(self, obj: Any) -> None:
        super().describe(obj)
        self.call.display_name = obj.user_name

    def _describe_update(
        self, before_active: bool, user: ScimUser, outcome: services.Outcome
    ) -> None:
        self.describe(user)
        self.call.changes = outcome.changes
        if before_active and not user.is_active:
            self.call.operation = Operation.DEACTIVATE_USER
        elif not before_active and user.is_active:
            self.call.operation = Operation.REACTIVATE_USER

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self.collection_only()
        body = self.load_body()
        self.call.display_name = _text(body.get("userName"))
        self.call.external_id = _text(body.get("externalId"))
        # Straight to the service: an adapter would need an unsaved ScimUser (its defaults and
        # all) built only to carry the organization.
        document = documents.clean_user(body)
        with transaction.atomic():
            user = services.create_user(scoping.organization_of(request), document)
        self.describe(user)
        return self.respond(user, 201, created=True)

    def put(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self.resource_only()
        body = self.load_body()
        with transaction.atomic():
            user = self.get_object(for_update=True)
            self.describe(user)
            documents.check_put_id(body, user.scim_id)
            before = user.is_active
            adapter = adapters.ScimUserAdapter(user, request)
            adapter.from_dict(body)
            outcome = adapter.save()
        self._describe_update(before, user, outcome)
        return self.respond(user)

    def patch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self.resource_only()
        operations = operations_of(self.load_body())
        with transaction.atomic():
            user = self.get_object(for_update=True)
            self.describe(user)
            before = user.is_active
            outcome = adapters.ScimUserAdapter(user, request).handle_operations(operations)
        self._describe_update(before, user, outcome)
        return self.respond(user)

    def delete(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self.resource_only()
        with transaction.atomic():
            user = self.get_object(for_update=True)
            self.describe(user)
            adapters.ScimUserAdapter(user, request).delete()
        return HttpResponse(status=204)


class GroupsView(ScimViewMixin, scim_views.GroupsView, CallOutcomeMixin):
    """``/Groups`` and ``/Groups/<id>`` (RFC 7644 §3.3–§3.6)."""

    resource_type = ResourceType.GROUP
    operations = {
        "GET:one": Operation.GET_GROUP,
        "GET:many": Operation.LIST_GROUPS,
        "HEAD:one": Operation.GET_GROUP,
        "HEAD:many": Operation.LIST_GROUPS,
        "POST:many": Operation.CREATE_GROUP,
        "PUT:one": Operation.UPDATE_GROUP,
        "PATCH:one": Operation.UPDATE_GROUP,
        "DELETE:one": Operation.DELETE_GROUP,
    }

    def adapter_for(self, objs: list, *, created: bool = False) -> list:
        members: dict[int, list[dict]] = {}
        with_members = adapters.wants("members", *self.projection())
        if objs and with_members:
            members = adapters.members_by_group(objs, scoping.base_location(self.request))
        return [
            adapters.ScimGroupAdapter(
                obj, self.request, members=members.get(obj.pk) if with_members else None
            )
            for obj in objs
        ]

    def describe(self, obj: Any) -> None:
        super().describe(obj)
        self.call.display_name = obj.display_name

    def _describe_update(self, group: ScimGroup, outcome: services.Outcome) -> None:
        self.describe(group)
        self.call.changes = outcome.changes
        self.call.members_added = outcome.members_added
        self.call.members_removed = outcome.members_removed
        self.call.member_ids.update(added=outcome.added_ids, removed=outcome.removed_ids)
        renamed = any(c["attribute"] == "displayName" for c in outcome.changes)
        if renamed:
            self.call.operation = Operation.RENAME_GROUP
        elif not outcome.changes and (outcome.members_added or outcome.members_removed):
            self.call.operation = Operation.UPDATE_MEMBERS

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self.collection_only()
        body = self.load_body()
        self.call.display_name = _text(body.get("displayName"))
        self.call.external_id = _text(body.get("externalId"))
        organization = scoping.organization_of(request)
        adapter = adapters.ScimGroupAdapter(ScimGroup(organization=organization), request)
        adapter.from_dict(body)
        with transaction.atomic():
            outcome = adapter.save()
        group = adapter.obj
        self.describe(group)
        self.call.members_added = outcome.members_added
        self.call.member_ids["added"] = outcome.added_ids
        return self.respond(group, 201)

    def put(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self.resource_only()
        body = self.load_body()
        with transaction.atomic():
            group = self.get_object(for_update=True)
            self.describe(group)
            documents.check_put_id(body, group.scim_id)
            adapter = adapters.ScimGroupAdapter(group, request)
            adapter.from_dict(body)
            outcome = adapter.save()
        self._describe_update(group, outcome)
        return self.respond(group)

    def patch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        """204 No Content, as Microsoft asks for group PATCH ("returning a body with a list of
        all the members isn't advisable"); 200 with the resource if the client names
        ``attributes``/``excludedAttributes`` (RFC 7644 §3.5.2)."""
        self.resource_only()
        operations = operations_of(self.load_body())
        try:
            with transaction.atomic():
                group = self.get_object(for_update=True)
                self.describe(group)
                outcome = adapters.ScimGroupAdapter(group, request).handle_operations(operations)
        except services.UnknownMembers as refused:
            self.call.member_ids["refused"] = refused.requested
            raise
        self._describe_update(group, outcome)
        if any(self.projection()):
            return self.respond(group)
        return HttpResponse(status=204)

    def delete(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self.resource_only()
        with transaction.atomic():
            group = self.get_object(for_update=True)
            self.describe(group)
            adapters.ScimGroupAdapter(group, request).delete()
        return HttpResponse(status=204)


class ServiceProviderConfigView(
    ScimViewMixin, scim_views.ServiceProviderConfigView, CallOutcomeMixin
):
    operations = {"GET:many": Operation.DISCOVERY, "HEAD:many": Operation.DISCOVERY}

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        config = adapters.ServiceProviderConfig(request=request)
        return scim_response(config.to_dict())


class ResourceTypesView(ScimViewMixin, scim_views.ResourceTypesView, CallOutcomeMixin):
    """RFC 7644 §4: ``/ResourceTypes``, as a ListResponse with ``totalResults``."""

    operations = {
        "GET:many": Operation.DISCOVERY,
        "GET:one": Operation.DISCOVERY,
        "HEAD:many": Operation.DISCOVERY,
        "HEAD:one": Operation.DISCOVERY,
    }

    def get(
        self, request: HttpRequest, *args: Any, uuid: str | None = None, **kwargs: Any
    ) -> HttpResponse:
        types = [
            adapters.ScimUserAdapter.resource_type_dict(request),
            adapters.ScimGroupAdapter.resource_type_dict(request),
        ]
        if uuid:
            for resource_type in types:
                if resource_type["id"] == uuid:
                    return scim_response(resource_type)
            raise NotFound(f"Resource type {uuid} not found")
        return scim_response(list_response(types, len(types), 1))


class SchemasView(ScimViewMixin, scim_views.SchemasView, CallOutcomeMixin):
    """RFC 7644 §4: ``/Schemas`` with the User, Group and EnterpriseUser schemas."""

    operations = {
        "GET:many": Operation.DISCOVERY,
        "GET:one": Operation.DISCOVERY,
        "HEAD:many": Operation.DISCOVERY,
        "HEAD:one": Operation.DISCOVERY,
    }

    def get(
        self, request: HttpRequest, *args: Any, uuid: str | None = None, **kwargs: Any
    ) -> HttpResponse:
        from .schemas import resource_schemas

        schemas = resource_schemas(scoping.base_location(request), scoping.organization_of(request))
        if uuid:
            for schema in schemas:
                if schema["id"].lower() == uuid.lower():
                    return scim_response(schema)
            raise NotFound(f"Schema {uuid} not found")
        return scim_response(list_response(schemas, len(schemas), 1))


class NotImplementedView(ScimViewMixin, scim_views.SCIMView, CallOutcomeMixin):
    """``/Bulk``, ``/Me`` and ``/.search``: not offered (ServiceProviderConfig says so), 501."""

    operations: dict[str, Operation] = {}

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        raise NotImplementedYet("not supported by this service provider")

    post = put = patch = delete = get


class UnknownEndpointView(ScimViewMixin, scim_views.SCIMView, CallOutcomeMixin):
    """Any other path under a tenant URL: a SCIM 404, after authentication."""

    operations: dict[str, Operation] = {}

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        raise NotFound("no such SCIM endpoint")

    post = put = patch = delete = get


@csrf_exempt
@sends_call_completed
def unknown_tenant(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    """``/scim/v2/…`` without a well-formed tenant id: a SCIM 404 that Azure can show the
    customer (RFC 7644 §3.12), not Django's HTML page. Mounted by ``scim.fallback_urls``."""
    call = begin(request, tenant=None, operation=Operation.OTHER)
    body = NotFound(
        "No SCIM tenant at this URL. Paste the full tenant URL shown in the Kno2 portal: "
        "it ends in /scim/v2/ followed by your organization's id."
    ).to_dict()
    call.fail(404, None, body["detail"])
    return scim_response(body, 404)
