"""Records every authenticated SCIM call as a sync event, and counts the refused ones.

The middleware wraps the SCIM views and reads the call record the SCIM layer completed
(``scim.calls.current_call``): who called, what the call did and how it ended. It parses no
path, header or body of its own.

* A call whose credential authenticated belongs to that credential's organization and is
  written to its sync history, after the view has answered and outside the view's
  transaction, so a write that failed and rolled back is recorded too.
* A call to an organization's exact tenant URL whose credential was refused is only counted,
  per organization and hour (``services.count_failed_authentication``): nothing the caller
  chose (filter, request id, token) is stored, and the history and health verdict stay the
  organization's own.
* Anything else (an unknown or mistyped tenant id, a throttled client) is not attributed.

Recording never breaks a response: an error while recording is logged and the SCIM client
still gets its answer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from scim.calls import current_call

from . import services

logger = logging.getLogger(__name__)


class SyncHistoryMiddleware:
    """Writes each authenticated SCIM call to its organization's history."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        call = current_call(request)
        if call is None:
            return response
        if not call.status_code:
            # An exception escaped the view: Django answered for it.
            call.complete(response.status_code)
        try:
            if call.credential is not None:
                services.record_sync_event(call)
            elif call.authentication_refused and call.tenant is not None:
                services.count_failed_authentication(call.tenant, at=call.started_at)
        except Exception:
            # History must never cost Azure its answer; the failure is visible in the logs.
            logger.exception("could not record sync event request_id=%s", call.request_id)
        return response
