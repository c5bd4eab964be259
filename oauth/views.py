"""The OAuth 2.0 token endpoint, one per organization: ``/oauth/<organization id>/token``.

Per organization rather than one global endpoint keyed by client id: the URL already names the
tenant, so a client id, secret or assertion is only ever looked for among that organization's
credentials (a credential of one organization cannot be spent at another's endpoint even by
mistake), the workload identity configuration is found without a client id, and failures are
recorded in the right organization's history (only those of its own Entra job: a caller that
proved it holds the organization's credential; anyone else's failures are only counted). The
customer pastes two URLs from the same page, the tenant URL and this one.

Rate limits mirror SCIM authentication's (``scim.ratelimit``), counted by the one fail-open
limiter (``core.ratelimit``): failed requests per client
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

from django.conf import settings
from django.dispatch import Signal
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from core import ratelimit
from core.ratelimit import client_address
from core.requestid import request_id_for
from organizations.models import Organization

from .server import MalformedBasicCredentials, TokenAttempt, TokenServer, basic_credentials
from .signals import TokenRequestOutcome, token_granted, token_request_refused

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


def _too_many(usage: dict) -> HttpResponse:
    response = _oauth_error(
        429,
        "temporarily_unavailable",
        "Too many token requests; retry after the Retry-After seconds.",
    )
    response["Retry-After"] = str(max(1, usage["time_left"]))
    return response


def _presented_client_id(request: HttpRequest) -> str:
    try:
        basic_id, _ = basic_credentials(request)
    except MalformedBasicCredentials:
        basic_id = None
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
    failures = ratelimit.usage(
        request, "oauth-token-failures", address, settings.OAUTH_TOKEN_FAILURE_RATE, increment=False
    )
    if ratelimit.exhausted(failures):
        return _too_many(failures)
    client_key = f"{organization.public_id}:{_presented_client_id(request)}"
    per_client = ratelimit.usage(
        request, "oauth-token-client", client_key, settings.OAUTH_TOKEN_RATE_LIMIT, increment=False
    )
    if ratelimit.exhausted(per_client):
        return _too_many(per_client)

    started_at, started = timezone.now(), time.perf_counter()
    attempt = TokenAttempt(organization=organization)
    response = TokenServer(attempt).create_token_response(request)
    duration_ms = (time.perf_counter() - started) * 1000
    if response.status_code < 400:
        ratelimit.usage(
            request,
            "oauth-token-client",
            client_key,
            settings.OAUTH_TOKEN_RATE_LIMIT,
            increment=True,
        )
        _report(token_granted, request, attempt, response, started_at, duration_ms)
    else:
        ratelimit.usage(
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
        _report(token_request_refused, request, attempt, response, started_at, duration_ms)
    return response


def _report(
    signal: Signal,
    request: HttpRequest,
    attempt: TokenAttempt,
    response: HttpResponse,
    started_at: datetime,
    duration_ms: float,
) -> None:
    """Tell subscribers (the sync history) how the request ended. A failing subscriber never
    costs Entra its answer; the failure is visible in the logs."""
    outcome = TokenRequestOutcome(
        organization=attempt.organization,
        request_id=getattr(request, "request_id", "") or request_id_for(request),
        path=request.path,
        started_at=started_at,
        duration_ms=duration_ms,
        status_code=response.status_code,
        client=attempt.client,
        authentic=attempt.authentic,
        error=attempt.error,
        failure=attempt.failure,
    )
    for receiver, result in signal.send_robust(sender=token_endpoint, outcome=outcome):
        if isinstance(result, Exception):
            logger.error(
                "token request subscriber %s failed org=%s",
                getattr(receiver, "__qualname__", receiver),
                attempt.organization.pk,
                exc_info=result,
            )
