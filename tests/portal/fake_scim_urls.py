"""A stand-in SCIM endpoint that honours the contract with ``scim/``, for recording tests.

It authenticates like the SCIM layer (``request.scim_organization`` / ``request.scim_token``),
describes itself in ``request.scim_event`` from the JSON it is sent, and can fail after a write
that rolls back.
"""

from __future__ import annotations

import json

from django.db import IntegrityError, transaction
from django.http import HttpRequest, JsonResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt

from organizations.models import Organization
from organizations.services import authenticate_token

ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"


def _error(status: int, scim_type: str, detail: str) -> JsonResponse:
    body = {"schemas": [ERROR_SCHEMA], "status": str(status), "detail": detail}
    if scim_type:
        body["scimType"] = scim_type
    return JsonResponse(body, status=status, content_type="application/scim+json")


@csrf_exempt
def fake_scim(request: HttpRequest, tenant, resource: str = "", rid: str = "") -> JsonResponse:
    header = request.headers.get("Authorization", "")
    token = authenticate_token(str(tenant), header.removeprefix("Bearer ").strip())
    if token is None:
        return _error(401, "", "Authentication failed.")
    request.scim_token = token
    request.scim_organization = token.organization
    spec = json.loads(request.body or b"{}")
    request.scim_event = spec.get("event", {})
    if spec.get("fail_after_write"):
        try:
            with transaction.atomic():
                Organization.objects.create(name="Written then rolled back", slug="rolled-back")
                raise IntegrityError("duplicate key value violates unique constraint")
        except IntegrityError:
            return _error(409, "uniqueness", "userName is already taken in this organization.")
    if spec.get("crash"):
        raise RuntimeError("boom")
    status = spec.get("status", 200)
    if status >= 400:
        return _error(status, spec.get("scim_type", ""), spec.get("detail", ""))
    return JsonResponse({"schemas": ["ok"]}, status=status)


urlpatterns = [
    path("scim/v2/<uuid:tenant>/<str:resource>", fake_scim),
    path("scim/v2/<uuid:tenant>/<str:resource>/<str:rid>", fake_scim),
    path("portal/", include("portal.urls")),
]
