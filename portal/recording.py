"""Records every SCIM request that reaches an organization as a sync event.

The middleware sits last in ``MIDDLEWARE``, so it wraps the SCIM view directly. It reads what
the SCIM layer left on the request (the contract with ``scim/``, no imports either way):

* ``request.scim_organization`` / ``request.scim_token`` once the bearer token is resolved;
* ``request.scim_event``, a dict describing the request (operation, resource, changes, ...),
  set even when the request fails.

It writes after the view has answered and outside the view's transaction, so a write that
failed and rolled back is still recorded. Recording never breaks a response: an error while
recording is logged and the SCIM client still gets its answer.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from kno2prov.requestid import REQUEST_ID_HEADER, request_id_for
from organizations import tokens
from organizations.models import Organization

from . import services
from .explanations import is_test_connection
from .models import Operation

logger = logging.getLogger(__name__)

SCIM_PREFIX = "/scim/v2/"
_TENANT_IN_PATH = re.compile(r"^/scim/v2/([0-9a-fA-F-]{32,36})(?:/|$)")
_MAX_ERROR_BODY = 64 * 1024


def _organization_for(request: HttpRequest) -> Organization | None:
    """The organization whose tenant URL was called, even when authentication failed.

    A request to an unknown tenant id belongs to nobody and is not recorded.
    """
    organization = getattr(request, "scim_organization", None)
    if organization is not None:
        return organization
    match = getattr(request, "resolver_match", None)
    public_id = match.kwargs.get("tenant") if match is not None else None
    if public_id is None:
        found = _TENANT_IN_PATH.match(request.path)
        if found is None:
            return None
        public_id = found.group(1)
    try:
        public_id = uuid.UUID(str(public_id))
    except ValueError:
        return None
    return Organization.objects.filter(public_id=public_id).first()


def _presented_token_prefix(request: HttpRequest) -> str:
    """The non-secret key of a well-formed token that was refused, e.g. to spot a revoked one."""
    header = request.headers.get("Authorization", "")
    scheme, _, presented = header.partition(" ")
    if scheme.lower() != "bearer":
        return ""
    parsed = tokens.parse_token(presented.strip())
    return f"k2p_{parsed.key}…" if parsed is not None else ""


def _scim_error(response: HttpResponse) -> tuple[str, str]:
    """``(scimType, detail)`` from an RFC 7644 §3.12 error body, or empty strings."""
    if response.streaming or response.status_code < 400:
        return "", ""
    content = response.content[:_MAX_ERROR_BODY]
    try:
        body = json.loads(content)
    except (ValueError, UnicodeDecodeError):
        return "", ""
    if not isinstance(body, dict):
        return "", ""
    return str(body.get("scimType") or ""), str(body.get("detail") or "")


def _guess_operation(request: HttpRequest) -> str:
    """What the request meant to do when the SCIM layer did not say (e.g. refused at auth)."""
    rest = request.path[len(SCIM_PREFIX):].split("/")[1:]
    resource = rest[0] if rest else ""
    has_id = len(rest) > 1 and rest[1] != ""
    method = request.method or ""
    if resource in {"Schemas", "ResourceTypes", "ServiceProviderConfig"}:
        return Operation.DISCOVERY
    table = {
        "Users": {"GET": Operation.GET_USER if has_id else Operation.LIST_USERS,
                  "POST": Operation.CREATE_USER, "PATCH": Operation.UPDATE_USER,
                  "PUT": Operation.UPDATE_USER, "DELETE": Operation.DELETE_USER},
        "Groups": {"GET": Operation.GET_GROUP if has_id else Operation.LIST_GROUPS,
                   "POST": Operation.CREATE_GROUP, "PATCH": Operation.UPDATE_GROUP,
                   "PUT": Operation.UPDATE_GROUP, "DELETE": Operation.DELETE_GROUP},
    }
    return table.get(resource, {}).get(method, Operation.OTHER)


def _int(value: Any) -> int:
    try:
        return max(int(value), 0)
    except (TypeError, ValueError):
        return 0


def build_event_fields(
    request: HttpRequest, response: HttpResponse, *, duration_ms: float
) -> dict[str, Any]:
    """Everything ``services.record_sync_event`` stores, read defensively from the request."""
    event = getattr(request, "scim_event", None)
    if not isinstance(event, dict):
        event = {}
    operation = event.get("operation") or _guess_operation(request)
    if operation not in Operation.values:
        operation = Operation.OTHER
    filter_text = str(event.get("filter") or request.GET.get("filter", ""))
    results = event.get("results")
    results = _int(results) if results is not None else None
    status_code = response.status_code
    if is_test_connection(operation, filter_text, results, status_code):
        operation = Operation.TEST_CONNECTION
    error_type, error_detail = _scim_error(response)
    if status_code == 401 and not error_type:
        error_type = "unauthorized"
    token = getattr(request, "scim_token", None)
    changes = event.get("changes")
    member_ids = event.get("member_ids")
    return {
        "member_ids": member_ids if isinstance(member_ids, dict) else {},
        "request_id": request.request_id,
        "token": token,
        "token_label": getattr(token, "label", "") if token is not None else "",
        "token_prefix": (
            token.display_prefix if token is not None else _presented_token_prefix(request)
        ),
        "method": request.method or "",
        "path": request.path,
        "operation": operation,
        "resource_type": str(event.get("resource_type") or ""),
        "resource_id": str(event.get("resource_id") or ""),
        "external_id": str(event.get("external_id") or ""),
        "subject": str(event.get("subject") or ""),
        "changes": changes if isinstance(changes, list) else [],
        "members_added": _int(event.get("members_added")),
        "members_removed": _int(event.get("members_removed")),
        "filter_text": filter_text,
        "results": results,
        "status_code": status_code,
        "error_type": error_type,
        "error_detail": error_detail,
        "duration_ms": duration_ms,
    }


class SyncHistoryMiddleware:
    """Gives each SCIM request an id (``X-Request-ID``) and records it as a ``SyncEvent``."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith(SCIM_PREFIX):
            return self.get_response(request)
        # kno2prov.requestid names every request first, for the logs; keep that name so a log
        # line and a history row can be matched. Without it, name the request here.
        if not getattr(request, "request_id", ""):
            request.request_id = request_id_for(request)
        started_at = timezone.now()
        started = time.perf_counter()
        response = self.get_response(request)
        duration_ms = (time.perf_counter() - started) * 1000
        response[REQUEST_ID_HEADER] = request.request_id
        try:
            organization = _organization_for(request)
            if organization is not None:
                services.record_sync_event(
                    organization, at=started_at,
                    **build_event_fields(request, response, duration_ms=duration_ms),
                )
        except Exception:
            # History must never cost Azure its answer; the failure is visible in the logs.
            logger.exception("could not record sync event request_id=%s", request.request_id)
        return response
