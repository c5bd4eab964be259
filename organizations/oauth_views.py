"""The OAuth 2.0 token endpoint, one per organization: ``/oauth/<organization id>/token``.

Per organization rather than one global endpoint keyed by client id: the URL already names the
tenant, so a client id, secret or assertion is only ever looked for among that organization's
credentials (a credential of one organization cannot be spent at another's endpoint even by
mistake), the workload identity configuration is found without a client id, and failures are
recorded in the right organization's history (only those of its own Entra job: a caller that
proved it holds the organization's credential; anyone else's failures are only counted). The
customer pastes two URLs from the same page, the tenant URL and this one.

Rate limits mirror SCIM authentication's (``kno2prov.ratelimit``): failed requests per client
address and endpoint (``OAUTH_TOKEN_FAILURE_RATE``), past which those requests answer 429 before
any credential is checked; and successful token requests per client id
(``OAUTH_TOKEN_RATE_LIMIT``). Only successes count against a client, so nobody can spend a
client's budget by sending its id with a wrong secret.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from datetime import datetime

from authlib.oauth2.rfc6749.util import extract_basic_authorization
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django_ratelimit.core import get_usage

from kno2prov.ratelimit import client_address
from kno2prov.requestid import request_id_for
from portal import services as history
from scim.calls import Operation, ScimCall

from .credentials import AuthenticatedCredential, CredentialKind
from .models import Organization
from .oauth_server import TokenAttempt, TokenServer

logger = logging.getLogger(__name__)


def _oauth_error(status: int, error: str, description: str) -> HttpResponse:
    response = HttpResponse(
        json.dumps({"error": error, "error_description": description}),
        status=status,
        content_type="application/json",
    )
    response["Cache-Control"] = "no-store"
    response["Pragma"] = "no-cache"
    return response


def _usage(request: HttpRequest, group: str, value: str, rate: str, increment: bool) -> dict | None:
    try:
        return get_usage(
            request, group=group, key=lambda g, r: value, rate=rate, increment=increment
        )
    except Exception:
        # Like SCIM's limits: a cache outage must never stop provisioning.
        logger.warning("rate limit skipped: cache unavailable group=%s", group, exc_info=True)
        return None


def _exhausted(usage: dict | None) -> bool:
    """Whether one more request would go past the limit (``None``: the cache is unreachable)."""
    return usage is not None and usage["count"] >= usage["limit"]


def _too_many(usage: dict) -> HttpResponse:
    response = _oauth_error(
        429,
        "temporarily_unavailable",
        "Too many token requests; retry after the Retry-After seconds.",
    )
    response["Retry-After"] = str(max(1, usage["time_left"]))
    return response


def _presented_client_id(request: HttpRequest) -> str:
    basic_id, _ = extract_basic_authorization(request.headers)
    return str(basic_id or request.POST.get("client_id") or "-")[:60]


@csrf_exempt
def token_endpoint(request: HttpRequest, tenant: uuid.UUID) -> HttpResponse:
    """RFC 6749 §4.4 client credentials grant, with a secret or an RFC 7523 assertion."""
    if request.method != "POST":
        response = _oauth_error(405, "invalid_request", "The token endpoint accepts POST only.")
        response["Allow"] = "POST"
        return response
    organization = Organization.objects.filter(public_id=tenant).first()
    if organization is None:
        return _oauth_error(404, "invalid_request", "No organization has this token endpoint.")

    # Failures count per client address and token endpoint, as SCIM's do per tenant URL:
    # Entra's addresses are shared by all its tenants.
    address = f"{client_address(request)}|{organization.public_id}"
    failures = _usage(
        request, "oauth-token-failures", address, settings.OAUTH_TOKEN_FAILURE_RATE, increment=False
    )
    if _exhausted(failures):
        return _too_many(failures)
    client_key = f"{organization.public_id}:{_presented_client_id(request)}"
    per_client = _usage(
        request, "oauth-token-client", client_key, settings.OAUTH_TOKEN_RATE_LIMIT, increment=False
    )
    if _exhausted(per_client):
        return _too_many(per_client)

    started_at, started = timezone.now(), time.perf_counter()
    attempt = TokenAttempt(organization=organization)
    response = TokenServer(attempt).create_token_response(request)
    if response.status_code < 400:
        _usage(
            request,
            "oauth-token-client",
            client_key,
            settings.OAUTH_TOKEN_RATE_LIMIT,
            increment=True,
        )
    else:
        _usage(
            request,
            "oauth-token-failures",
            address,
            settings.OAUTH_TOKEN_FAILURE_RATE,
            increment=True,
        )
        logger.info(
            "oauth token refused org=%s client=%s error=%s",
            organization.pk,
            attempt.client.client_id if attempt.client else "-",
            attempt.error,
        )
        _record_failure(
            request, attempt, response, started_at, (time.perf_counter() - started) * 1000
        )
    return response


def _record_failure(
    request: HttpRequest,
    attempt: TokenAttempt,
    response: HttpResponse,
    started_at: datetime,
    duration_ms: float,
) -> None:
    """A refused token request of the organization's own Entra job (``attempt.authentic``)
    goes into its history with the fix in plain words; anyone else's is only counted, like a
    refused SCIM credential, so nobody can write into an organization's history."""
    client = attempt.client
    try:
        if not attempt.authentic or client is None:
            history.count_failed_authentication(attempt.organization.public_id, at=started_at)
            return
        call = ScimCall(
            request_id=getattr(request, "request_id", "") or request_id_for(request),
            method="POST",
            path=request.path,
            tenant=attempt.organization.public_id,
            operation=Operation.TOKEN_REQUEST,
            started_at=started_at,
            credential=AuthenticatedCredential(
                organization=attempt.organization,
                kind=CredentialKind(client.kind),
                public_id=client.client_id,
                expires_at=None,
                client_label=client.label,
            ),
            status_code=response.status_code,
            scim_type=attempt.error,
            error_detail=attempt.failure,
            duration_ms=duration_ms,
        )
        history.record_sync_event(call)
    except Exception:
        # History must never cost Entra its answer; the failure is visible in the logs.
        logger.exception("could not record token failure org=%s", attempt.organization.pk)
