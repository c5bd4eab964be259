"""A request id for every request: on the request, in every log line, and in the response.

The id is the client's own ``X-Request-ID`` when it is short and harmless, else a new one. The
sync history stores the same id, so a line in the logs, a row in the history and the header
Azure saw can be matched up.
"""

from __future__ import annotations

import contextvars
import logging
import re
import time
import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

REQUEST_ID_HEADER = "X-Request-ID"
_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")

current_request_id: contextvars.ContextVar[str] = contextvars.ContextVar(
    "current_request_id", default="-"
)

access_logger = logging.getLogger("kno2prov.access")


def request_id_for(request: HttpRequest) -> str:
    """The id of ``request``: kept from the client when sane, generated otherwise."""
    incoming = request.headers.get(REQUEST_ID_HEADER, "")
    if _SANE_REQUEST_ID.match(incoming):
        return incoming
    return uuid.uuid4().hex


# Query parameters whose values never reach a log line: a bearer token sent in the URL
# (RFC 6750 §2.3) and SCIM filters, which carry userNames and other personal data.
_SECRET_PARAMETER = re.compile(r"(?i)\b(access_token|filter)=[^&\s'\"]*")


# A whole secret built by core.tokens (k2p_ tokens, k2h_ keys, k2s_ set-password
# links, the last of which travel in a URL path): its public key part is kept.
_SECRET = re.compile(r"\b(k2[a-z]_[0-9A-Za-z]{12})_[0-9A-Za-z]{38}\b")


def redact_query(text: str) -> str:
    """``text`` with the values of ``access_token`` and ``filter`` parameters, and any whole
    token, redacted."""
    return _SECRET.sub(r"\1_[redacted]", _SECRET_PARAMETER.sub(r"\1=[redacted]", text))


class QueryRedactionFilter(logging.Filter):
    """Keeps access tokens and filter values out of every log line.

    Django's request loggers attach the request itself, whose ``repr`` (written by the JSON
    formatter) includes the query string; messages may quote a URL too.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        request = getattr(record, "request", None)
        if isinstance(request, HttpRequest):
            record.request = f"<{request.method} {redact_query(request.path)}>"
        path = getattr(record, "path", None)
        if isinstance(path, str):
            record.path = redact_query(path)
        if record.args or "=" in str(record.msg):
            message = record.getMessage()
            redacted = redact_query(message)
            if redacted != message:
                record.msg, record.args = redacted, None
        return True


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` to every log record, so JSON log lines carry it."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id.get()
        return True


class RequestIdMiddleware:
    """First in ``MIDDLEWARE``: names the request, logs one access line, sets the header."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.request_id = request_id_for(request)
        reset = current_request_id.set(request.request_id)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            response[REQUEST_ID_HEADER] = request.request_id
            access_logger.info(
                "%s %s %s",
                request.method,
                request.path,
                response.status_code,
                extra={
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                },
            )
            return response
        finally:
            current_request_id.reset(reset)
