"""Records every authenticated SCIM call as a sync event, and counts the refused ones.

``record_call`` receives ``scim.signals.call_completed`` (connected in ``PortalConfig.ready``)
and reads the call record the SCIM layer completed: who called, what the call did and how it
ended. It parses no path, header or body of its own.

* A call whose credential authenticated belongs to that credential's organization and is
  written to its sync history. The SCIM layer sends the signal after the view has answered,
  outside the view's transaction, so a write that failed and rolled back is recorded too. In
  an app server the event is built here and written behind the response, in a batch
  (``portal.writebehind``); elsewhere it is written at once.
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

from scim.calls import ScimCall

from . import services, writebehind

logger = logging.getLogger(__name__)

# The dispatch_uid ``portal.apps`` connects ``record_call`` under; tests that measure the SCIM
# layer alone disconnect it by this name.
DISPATCH_UID = "portal.recording.record_call"


def record_call(sender: object, *, call: ScimCall, **kwargs: object) -> None:
    """Write ``call`` to its organization's history, or count its refused authentication."""
    try:
        if call.credential is not None:
            history = writebehind.writer()
            if history is None:
                services.record_sync_event(call)
            else:
                history.submit(services.build_sync_event(call))
        elif call.authentication_refused and call.tenant is not None:
            services.count_failed_authentication(call.tenant, at=call.started_at)
    except Exception:
        # History must never cost Azure its answer; the failure is visible in the logs.
        logger.exception("could not record sync event request_id=%s", call.request_id)
