"""Rate limits on the SCIM endpoint: a budget per organization, and a brake on token guessing.

Counted by the project's one fail-open limiter (``core.ratelimit``): a cache outage never stops
provisioning.

* **Per organization** (``SCIM_RATE_LIMIT``, default 1000 requests per 10 s, far above the
  25 requests/s Azure requires of a gallery app): only requests that authenticated count, so
  nobody can spend an organization's budget with bad tokens. Over budget: 429 with
  ``Retry-After`` and a SCIM error body (RFC 7644 §3.12 defines no scimType for 429).
* **Per client address and tenant URL** (``SCIM_AUTH_FAILURE_RATE``, default 20 failed
  authentications per 5 minutes): past that, that client's requests to that tenant URL answer
  429 with ``Retry-After``, whether their credential is valid or not, so guessing learns
  nothing more. Another organization's Azure job from the same address is not affected
  (Azure's addresses are shared by all its tenants).

``scim.auth`` calls these after the credential check: ``count_refused`` for a refused
credential, ``admit`` for a valid one, each one round trip to the counters. (Checking the
failure limit before the credential lookup, as this once did, cost every SCIM call a second
round trip to save a blocked client's one indexed lookup; README, "Issue 21, eleventh round".)
It reads what it needs from the SCIM call record (``scim.calls.ScimCall``); nothing here parses
a path or a header of its own.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from core.ratelimit import Counter, client_address, exhausted, spend_unless_exhausted, usage

if TYPE_CHECKING:
    from .calls import ScimCall

logger = logging.getLogger(__name__)

SCIM_CONTENT_TYPE = "application/scim+json"
# The one answer past the failure limit, whatever the client presented.
GUESSING_REFUSED = "Too many failed authentications from this client; retry later"


def too_many_requests(detail: str, retry_after: int) -> HttpResponse:
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
        "status": "429",
        "detail": detail,
    }
    response = HttpResponse(json.dumps(body), status=429, content_type=SCIM_CONTENT_TYPE)
    response["Retry-After"] = str(max(1, retry_after))
    return response


def count_refused(request: HttpRequest, call: ScimCall) -> HttpResponse | None:
    """Count a refused credential against this client; 429 if that was one too many."""
    failures = _failures(request, call)
    guessing = usage(request, failures.group, failures.value, failures.rate, increment=True)
    if guessing is None or not guessing["should_limit"]:
        return None
    logger.warning("scim authentication failures over limit client=%s", client_address(request))
    return too_many_requests(GUESSING_REFUSED, guessing["time_left"])


def admit(request: HttpRequest, call: ScimCall) -> HttpResponse | None:
    """For a call whose credential authenticated: 429 if this client is past the failure limit
    at this tenant URL (``SCIM_AUTH_FAILURE_RATE``), else count the call against its
    organization's budget (``SCIM_RATE_LIMIT``) and 429 once that is spent; ``None`` to let it
    through. Both in one round trip to the counters. Only authenticated calls reach this, so
    nobody can spend an organization's budget without its credentials, and a call refused for
    its client's failures spends none of it."""
    organization = call.organization
    if organization is None:
        return None
    guessing, spent = spend_unless_exhausted(
        request,
        _failures(request, call),
        Counter("scim-organization", str(organization.public_id), settings.SCIM_RATE_LIMIT),
    )
    if exhausted(guessing):
        return too_many_requests(GUESSING_REFUSED, guessing["time_left"])
    if spent is None or not spent["should_limit"]:
        return None
    logger.warning("scim rate limit reached org=%s", organization.pk)
    return too_many_requests(
        "This organization's request rate limit is reached; retry later", spent["time_left"]
    )


def _failures(request: HttpRequest, call: ScimCall) -> Counter:
    """This client's failed authentications at this tenant URL (``SCIM_AUTH_FAILURE_RATE``).
    Per client address and tenant URL: Azure's addresses are shared by all its tenants, so one
    tenant's wrong token must not lock out another tenant's Azure job."""
    return Counter(
        "scim-auth-failures",
        f"{client_address(request)}|{call.tenant or '-'}",
        settings.SCIM_AUTH_FAILURE_RATE,
    )
