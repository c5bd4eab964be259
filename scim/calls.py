"""One typed record of each SCIM call: who called, what it did, how it ended.

The SCIM layer creates the record when it takes a request (``begin``), authentication fills in
the credential, the view describes what it did, and dispatch completes it with the outcome.
Everything else that needs to know about a SCIM request reads this record and never parses the
path, the headers or the response body again: rate limits through ``current_call`` while the
call runs; sync history, failed-authentication counts and metrics from
``scim.signals.call_completed``, sent once the response's status is final.

Only a call whose ``credential`` is set belongs to an organization. ``tenant`` is the id of the
exact tenant URL that was called, whoever called it; it is never used to attribute a request to
an organization, only to count refused authentications there.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import models
from django.http import HttpRequest
from django.utils import timezone

from core.credentials import AuthenticatedCredential
from organizations.models import Organization

_ATTRIBUTE = "_scim_call"


class Operation(models.TextChoices):
    """What a SCIM request did."""

    CREATE_USER = "create_user", "Create user"
    UPDATE_USER = "update_user", "Update user"
    DEACTIVATE_USER = "deactivate_user", "Deactivate user"
    REACTIVATE_USER = "reactivate_user", "Reactivate user"
    DELETE_USER = "delete_user", "Delete user"
    GET_USER = "get_user", "Look up user"
    LIST_USERS = "list_users", "Search users"
    CREATE_GROUP = "create_group", "Create group"
    UPDATE_GROUP = "update_group", "Update group"
    RENAME_GROUP = "rename_group", "Rename group"
    DELETE_GROUP = "delete_group", "Delete group"
    GET_GROUP = "get_group", "Look up group"
    LIST_GROUPS = "list_groups", "Search groups"
    UPDATE_MEMBERS = "update_members", "Change group members"
    DISCOVERY = "discovery", "Schema discovery"
    TEST_CONNECTION = "test_connection", "Test Connection"
    # Not SCIM itself: a refused request to the organization's OAuth token endpoint.
    TOKEN_REQUEST = "token_request", "Token request"
    OTHER = "other", "Other request"


class ResourceType(models.TextChoices):
    USER = "User", "User"
    GROUP = "Group", "Group"
    NONE = "", "None"


@dataclass
class ScimCall:
    """A SCIM request as the SCIM layer understood it."""

    request_id: str
    method: str
    path: str
    tenant: uuid.UUID | None
    operation: Operation = Operation.OTHER
    resource_type: ResourceType = ResourceType.NONE
    started_at: datetime = field(default_factory=timezone.now)
    started: float = field(default_factory=time.perf_counter)
    credential: AuthenticatedCredential | None = None
    # The presented credential was checked and refused (401), as opposed to not checked at all.
    authentication_refused: bool = False
    resource_id: str = ""
    external_id: str = ""
    display_name: str = ""
    changes: list[dict[str, Any]] = field(default_factory=list)
    members_added: int = 0
    members_removed: int = 0
    # SCIM ids of the members a membership change added, removed, or named in a request refused
    # as a whole ("added", "removed", "refused"); at most scim.services.MEMBER_IDS_RECORDED each.
    member_ids: dict[str, list[str]] = field(default_factory=dict)
    filter: str = ""
    results: int | None = None
    status_code: int = 0
    scim_type: str = ""
    error_detail: str = ""
    duration_ms: float = 0.0
    # Of which waiting for the organization's pace (SCIM_TENANT_PACE, core.pacing).
    paced_ms: float = 0.0

    @property
    def organization(self) -> Organization | None:
        """The organization whose credential authenticated this call, or ``None``."""
        return self.credential.organization if self.credential is not None else None

    @property
    def succeeded(self) -> bool:
        return 0 < self.status_code < 400

    def fail(self, status_code: int, scim_type: str | None, detail: str) -> None:
        """Note an RFC 7644 §3.12 error the call ends with (the view renders it)."""
        self.status_code = status_code
        self.scim_type = scim_type or ""
        self.error_detail = detail

    def complete(self, status_code: int) -> None:
        """The response's status is final: note it and how long the call took."""
        if status_code < 400:
            self.scim_type = self.error_detail = ""
        self.status_code = status_code
        self.duration_ms = (time.perf_counter() - self.started) * 1000


def begin(
    request: HttpRequest,
    *,
    tenant: uuid.UUID | None,
    operation: Operation | None,
    resource_type: ResourceType = ResourceType.NONE,
) -> ScimCall:
    """The record of ``request``, created once; a second call returns the same record."""
    call = current_call(request)
    if call is None:
        call = ScimCall(
            request_id=getattr(request, "request_id", "") or uuid.uuid4().hex,
            method=request.method or "",
            path=request.path,
            tenant=tenant,
            operation=operation or Operation.OTHER,
            resource_type=resource_type,
        )
        setattr(request, _ATTRIBUTE, call)
    return call


def current_call(request: HttpRequest | None) -> ScimCall | None:
    """The SCIM call ``request`` is, or ``None`` when the SCIM layer did not take it."""
    call = getattr(request, _ATTRIBUTE, None)
    return call if isinstance(call, ScimCall) else None
