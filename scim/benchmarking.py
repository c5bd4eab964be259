"""Instruments for ``bench/``, mounted only when ``BENCH_MODE`` is on (never in production).

* ``QueryCountMiddleware`` answers every request with ``X-Query-Count``, the SQL statements the
  request ran, so the load generator can print queries per operation from outside.
* ``ceiling_view`` is the cheapest useful request this stack can serve: the same bearer-token
  check as SCIM plus one indexed query. Its throughput is the machine's ceiling that SCIM's
  throughput is held against.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse

from core.credentials import authenticate_bearer, bearer_token

from .identity import users_named

QUERY_COUNT_HEADER = "X-Query-Count"


class QueryCountMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        executed = 0

        def count(execute, sql, params, many, context):
            nonlocal executed
            executed += 1
            return execute(sql, params, many, context)

        with connection.execute_wrapper(count):
            response = self.get_response(request)
        response[QUERY_COUNT_HEADER] = str(executed)
        return response


def ceiling_view(request: HttpRequest, tenant: str) -> HttpResponse:
    presented = bearer_token(request)
    credential = authenticate_bearer(str(tenant), presented) if presented else None
    if credential is None:
        return JsonResponse({"detail": "unauthorized"}, status=401)
    found = users_named(credential.organization, request.GET.get("userName", "")).exists()
    return JsonResponse({"found": found})
