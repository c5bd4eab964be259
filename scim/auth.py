"""Bearer-token authentication for SCIM requests (RFC 7644 §2, RFC 6750).

django-scim2 wraps every SCIM view's ``dispatch`` in ``AUTH_CHECK_MIDDLEWARE``. Its default
decides by comparing ``request.path`` with a reversed URL prefix and trusts ``request.user``
from session middleware; under a per-tenant prefix that check can fail open. This subclass runs
on every SCIM view call whatever the path, and lets a request through only when the
``Authorization: Bearer`` token is an active token of the organization named in the URL with
provisioning enabled. Anything else is a 401 with a SCIM error body and ``WWW-Authenticate``.
The token is never logged or echoed.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from django.http import HttpRequest, HttpResponse
from django_scim.constants import SCIM_CONTENT_TYPE
from django_scim.middleware import SCIMAuthCheckMiddleware
from django_scim.settings import scim_settings

from organizations.credentials import authenticate_bearer

from .errors import Unauthorized

logger = logging.getLogger(__name__)


def bearer_token(request: HttpRequest) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header (scheme case-insensitive)."""
    scheme, _, credentials = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        return None
    return credentials.strip()


def unauthorized_response(detail: str) -> HttpResponse:
    response = HttpResponse(
        json.dumps(Unauthorized(detail).to_dict()), content_type=SCIM_CONTENT_TYPE, status=401
    )
    response["WWW-Authenticate"] = scim_settings.WWW_AUTHENTICATE_HEADER
    return response


class BearerTokenAuthMiddleware(SCIMAuthCheckMiddleware):
    """``AUTH_CHECK_MIDDLEWARE``: resolve the organization from the bearer token, or 401.

    On success it sets ``request.scim_organization`` and ``request.scim_token`` (read by
    ``scim.scoping`` and by the sync-history middleware). It never logs bodies: django-scim2's
    request logging would write PII and the ``Authorization`` header's neighbours to logs.
    """

    def __call__(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = self.authenticate(request, kwargs.get("tenant"))
        if response is not None:
            return response
        return self.get_response(request, *args, **kwargs)

    def authenticate(self, request: HttpRequest, tenant: object) -> HttpResponse | None:
        request.scim_organization = None
        request.scim_token = None
        request.scim_credential = None
        presented = bearer_token(request)
        if tenant is None or presented is None:
            logger.info("scim auth failed reason=missing-token tenant=%s", tenant)
            return unauthorized_response("Authentication required: send a bearer token")
        credential = authenticate_bearer(str(tenant), presented)
        if credential is None:
            logger.info("scim auth failed reason=rejected-token tenant=%s", tenant)
            return unauthorized_response("The bearer token is not valid for this tenant URL")
        request.scim_credential = credential
        request.scim_token = credential.token
        request.scim_organization = credential.organization
        return None

    def should_log_request(self, request: HttpRequest) -> bool:
        return False
