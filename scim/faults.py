"""The database going away answers 503 with ``Retry-After``, never a 500.

Azure retries a 503 on its next cycle; a 500 reads as a bug. Two places can meet a lost
database: the bearer-token check, which django-scim2 runs around its ``dispatch``, and the
handlers inside it, whose exceptions django-scim2's ``dispatch`` turns into a bare 500.
``DatabaseFaultsMixin`` sits after django-scim2's ``SCIMView`` in each view's MRO, so it sees
the handlers' exceptions first; ``scim.views.ScimViewMixin`` catches the token check's.

Nothing is lost: every write runs in one transaction that the failure rolls back, and Django
closes the broken connection when the request ends, so the next request connects afresh.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.views.generic import View
from django_scim.constants import SCIM_CONTENT_TYPE

from .errors import ScimError

logger = logging.getLogger(__name__)

DATABASE_FAULTS = (OperationalError, InterfaceError)
RETRY_AFTER_SECONDS = 30


class ServiceUnavailable(ScimError):
    """503: the directory's database cannot be reached; §3.12 defines no scimType for it."""

    status = 503


def unavailable_response() -> HttpResponse:
    error = ServiceUnavailable("The directory is unavailable for a moment; retry later")
    response = HttpResponse(json.dumps(error.to_dict()), status=503, content_type=SCIM_CONTENT_TYPE)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


class DatabaseFaultsMixin(View):
    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return super().dispatch(request, *args, **kwargs)
        except DATABASE_FAULTS as exc:
            logger.warning("scim request failed: database unavailable (%s)", type(exc).__name__)
            raise ServiceUnavailable(
                "The directory is unavailable for a moment; retry later"
            ) from exc
