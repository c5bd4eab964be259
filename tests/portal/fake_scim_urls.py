"""A stand-in SCIM endpoint that honours the contract with ``scim/``, for recording tests.

It keeps a ``scim.calls.ScimCall`` as the SCIM layer does: authenticates it with
``authenticate_bearer``, describes it from the JSON it is sent (``event``, in the call's field
names), notes its outcome, can fail after a write that rolls back, and is wrapped in
``scim.signals.sends_call_completed`` like every SCIM view, which completes the call and sends
it to the history.
"""

from __future__ import annotations

import json

from django.db import IntegrityError, transaction
from django.http import HttpRequest, JsonResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt

from core.credentials import authenticate_bearer, bearer_token
from organizations.models import Organization
from scim.calls import Operation, ResourceType, begin
from scim.signals import sends_call_completed
from tests.schemas import ERROR as ERROR_SCHEMA
from tests.schemas import SCIM_JSON


def _error(status: int, scim_type: str, detail: str) -> JsonResponse:
    body = {"schemas": [ERROR_SCHEMA], "status": str(status), "detail": detail}
    if scim_type:
        body["scimType"] = scim_type
    return JsonResponse(body, status=status, content_type=SCIM_JSON)


@csrf_exempt
@sends_call_completed
def fake_scim(request: HttpRequest, tenant, resource: str = "", rid: str = "") -> JsonResponse:
    spec = json.loads(request.body or b"{}")
    described = dict(spec.get("event", {}))
    call = begin(
        request,
        tenant=tenant,
        operation=Operation(described.pop("operation", Operation.LIST_USERS)),
        resource_type=ResourceType(described.pop("resource_type", "")),
    )
    call.filter = request.GET.get("filter", "")
    credential = authenticate_bearer(str(tenant), bearer_token(request) or "")
    if credential is None:
        call.authentication_refused = True
        return _error(401, "", "Authentication failed.")
    call.credential = credential
    for name, value in described.items():
        setattr(call, name, value)
    if spec.get("fail_after_write"):
        try:
            with transaction.atomic():
                Organization.objects.create(name="Written then rolled back", slug="rolled-back")
                raise IntegrityError("duplicate key value violates unique constraint")
        except IntegrityError:
            call.fail(409, "uniqueness", "userName is already taken in this organization.")
            return _error(409, "uniqueness", call.error_detail)
    if spec.get("crash"):
        raise RuntimeError("boom")
    status = spec.get("status", 200)
    if status >= 400:
        call.fail(status, spec.get("scim_type", ""), spec.get("detail", ""))
        return _error(status, call.scim_type, call.error_detail)
    return JsonResponse({"schemas": ["ok"]}, status=status)


urlpatterns = [
    path("scim/v2/<uuid:tenant>/<str:resource>", fake_scim),
    path("scim/v2/<uuid:tenant>/<str:resource>/<str:rid>", fake_scim),
    path("portal/", include("portal.urls")),
    path("sso/", include("sso.urls")),  # the portal login page links to SSO
]
