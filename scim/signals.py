"""News of SCIM calls for the layers above: ``call_completed``, sent once per call.

``scim`` knows nothing of who listens (the sync history in ``portal``, the Prometheus metrics in
``scim.metrics``). Every SCIM view is wrapped in ``sends_call_completed``, which sends the
signal after the view has answered, with the response's status final in the call record:

* after the view's own transaction ended, so a receiver that writes runs outside it and a write
  that failed and rolled back is still reported;
* once per call whatever answered: the handlers, the bearer check and rate limits around them
  (401, 429), django-scim2's catch-all (500);
* for an exception that escapes the view, with Django's own answer to it
  (``response_for_exception``: the same response, logging and ``got_request_exception`` as
  Django's handler), so the call ends with the status the client sees.

Receivers are called robustly: one that fails is logged by Django and never costs the SCIM
client its answer.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from django.core.handlers.exception import response_for_exception
from django.dispatch import Signal
from django.http import HttpRequest, HttpResponse

from .calls import ScimCall, current_call

# Sent with ``sender=ScimCall`` and ``call``: the completed ``scim.calls.ScimCall``.
call_completed = Signal()


def sends_call_completed(
    view: Callable[..., HttpResponse],
) -> Callable[..., HttpResponse]:
    """Wrap a SCIM view function: complete its call record with the final status and send
    ``call_completed``. A request the view did not take as a SCIM call (no ``begin``) sends
    nothing."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        try:
            response = view(request, *args, **kwargs)
        except Exception as exc:
            response = response_for_exception(request, exc)
        call = current_call(request)
        if call is not None:
            call.complete(response.status_code)
            call_completed.send_robust(sender=ScimCall, call=call)
        return response

    return wrapped
