"""Instruments for ``bench/``, mounted only when ``BENCH_MODE`` is on (never in production).

* ``QueryCountMiddleware`` answers every request with ``X-Query-Count``, the SQL statements the
  request ran, so the load generator can print queries per operation from outside, and with
  ``Server-Timing`` (``app``: the request's time inside Django, from this middleware in;
  ``sql``: the part of it spent in those statements, ``COMMIT`` not included), so a slow
  request seen from outside can be told apart from a slow server, or server from database.
* ``ceiling_view`` is the cheapest useful request this stack can serve: the same bearer-token
  check as SCIM plus one indexed query. Its throughput is the machine's ceiling that SCIM's
  throughput is held against.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse

from core.credentials import authenticate_bearer, bearer_token

from .identity import users_named

QUERY_COUNT_HEADER = "X-Query-Count"
SERVER_TIMING_HEADER = "Server-Timing"


class QueryCountMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        executed = 0
        in_sql = 0.0

        def count(execute, sql, params, many, context):
            nonlocal executed, in_sql
            executed += 1
            started = time.perf_counter()
            try:
                return execute(sql, params, many, context)
            finally:
                in_sql += time.perf_counter() - started

        started = time.perf_counter()
        with connection.execute_wrapper(count):
            response = self.get_response(request)
        response[QUERY_COUNT_HEADER] = str(executed)
        response[SERVER_TIMING_HEADER] = (
            f"app;dur={(time.perf_counter() - started) * 1000:.1f}, sql;dur={in_sql * 1000:.1f}"
        )
        return response


def ceiling_view(request: HttpRequest, tenant: str) -> HttpResponse:
    presented = bearer_token(request)
    credential = authenticate_bearer(str(tenant), presented) if presented else None
    if credential is None:
        return JsonResponse({"detail": "unauthorized"}, status=401)
    found = users_named(credential.organization, request.GET.get("userName", "")).exists()
    return JsonResponse({"found": found})
