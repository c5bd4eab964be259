"""Bearer authentication for SCIM requests (RFC 7644 §2, RFC 6750).

django-scim2 wraps every SCIM view's ``dispatch`` in ``AUTH_CHECK_MIDDLEWARE``. Its default
decides by comparing ``request.path`` with a reversed URL prefix and trusts ``request.user``
from session middleware; under a per-tenant prefix that check can fail open. This subclass runs
on every SCIM view call whatever the path, and lets a request through only when the bearer
credential is valid for the organization named in the URL with provisioning enabled. Anything
else is a 401 with a SCIM error body and ``WWW-Authenticate``. The credential is never logged.

After the check it applies the rate limits (``scim.ratelimit``): a client that failed too
often at this tenant URL gets 429 whatever it presented; an authenticated call spends its
organization's budget, waits for its organization's pace while another organization is
provisioning (``core.pacing``, ``SCIM_TENANT_PACE``), then holds one of its organization's
concurrency slots (``core.concurrency``, ``SCIM_TENANT_CONCURRENCY``) while the view runs.
Each outcome is written into the request's ``scim.calls.ScimCall``.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django_scim.constants import SCIM_CONTENT_TYPE
from django_scim.middleware import SCIMAuthCheckMiddleware
from django_scim.settings import scim_settings

from core.concurrency import slot
from core.credentials import authenticate_bearer, bearer_token
from core.pacing import pace

from . import ratelimit
from .calls import ScimCall, begin
from .errors import Unauthorized

logger = logging.getLogger(__name__)


def unauthorized_response(detail: str) -> HttpResponse:
    response = HttpResponse(
        json.dumps(Unauthorized(detail).to_dict()), content_type=SCIM_CONTENT_TYPE, status=401
    )
    response["WWW-Authenticate"] = scim_settings.WWW_AUTHENTICATE_HEADER
    return response


class BearerTokenAuthMiddleware(SCIMAuthCheckMiddleware):
    """``AUTH_CHECK_MIDDLEWARE``: authenticate the call's credential for its tenant URL, or 401.

    On success the call's ``credential`` is set (read by ``scim.scoping`` and by everything
    that reads the call record). It never logs bodies: django-scim2's request logging would
    write PII to logs.
    """

    def __call__(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        call = begin(request, tenant=kwargs.get("tenant"), operation=None)
        response = self.authenticate(request, call)
        if response is not None:
            call.fail(response.status_code, None, "")
            return response
        # One organization's full-speed cycle queues here instead of taking every thread, and
        # while another organization is provisioning it is held to its pace.
        paced = pace(
            settings.REDIS_URL,
            "scim",
            str(call.organization.public_id),
            rate=settings.SCIM_TENANT_PACE,
            max_wait_seconds=settings.SCIM_TENANT_QUEUE_SECONDS,
        )
        call.paced_ms = paced * 1000
        with slot(
            settings.REDIS_URL,
            f"scim:{call.organization.public_id}",
            limit=settings.SCIM_TENANT_CONCURRENCY,
            wait_seconds=settings.SCIM_TENANT_QUEUE_SECONDS,
        ):
            return self.get_response(request, *args, **kwargs)

    def authenticate(self, request: HttpRequest, call: ScimCall) -> HttpResponse | None:
        presented = bearer_token(request)
        if call.tenant is None or presented is None:
            logger.info("scim auth failed reason=missing-token")
            return self.refuse(request, call, "Authentication required: send a bearer token")
        credential = authenticate_bearer(str(call.tenant), presented)
        if credential is None:
            logger.info("scim auth failed reason=rejected-token tenant=%s", call.tenant)
            return self.refuse(request, call, "The bearer token is not valid for this tenant URL")
        call.credential = credential
        return ratelimit.admit(request, call)

    def refuse(self, request: HttpRequest, call: ScimCall, detail: str) -> HttpResponse:
        """401 for a missing or refused credential, counted against this client; 429 once the
        client is past the failure limit at this tenant URL. Only a 401 at an exact tenant URL
        is attributed to its organization (``authentication_refused``): a throttled client's
        calls are not, so flooding one cannot fill an organization's failure counts."""
        throttled = ratelimit.count_refused(request, call)
        if throttled is not None:
            return throttled
        call.authentication_refused = call.tenant is not None
        return unauthorized_response(detail)

    def should_log_request(self, request: HttpRequest) -> bool:
        return False
