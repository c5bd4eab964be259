"""Instruments for ``bench/``, mounted only when ``BENCH_MODE`` is on (never in production).

* ``QueryCountMiddleware`` answers every request with ``X-Query-Count``, the SQL statements the
  request ran, so the load generator can print queries per operation from outside, and with
  ``Server-Timing`` (``app``: the request's time inside Django, from this middleware in;
  ``sql``: the part of it spent in those statements; ``commit``: in its ``COMMIT``; ``cpu``:
  the CPU time of the thread that served it; ``gc``: the garbage collector's pauses meanwhile),
  so a slow request seen from outside can be told apart from a slow server, the database from
  the app, and the app's own work from waiting for the CPU or the interpreter lock.
* ``ceiling_view`` is the cheapest useful request this stack can serve: the same bearer-token
  check as SCIM plus one indexed query. Its throughput is the machine's ceiling that SCIM's
  throughput is held against.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse

from core.credentials import authenticate_bearer, bearer_token

from .identity import users_named

QUERY_COUNT_HEADER = "X-Query-Count"
SERVER_TIMING_HEADER = "Server-Timing"


class _CollectorClock:
    """Seconds the garbage collector has paused this process for, from ``gc.callbacks``
    (which run holding the interpreter lock, one collection at a time)."""

    def __init__(self) -> None:
        self.total = 0.0
        self._started = 0.0

    def __call__(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.total += time.perf_counter() - self._started


_collector_clock = _CollectorClock()
gc.callbacks.append(_collector_clock)


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

        in_commit = 0.0
        commit = connection._commit

        def timed_commit():
            # Django commits outside execute wrappers: time it where it calls the driver.
            nonlocal in_commit
            started = time.perf_counter()
            try:
                return commit()
            finally:
                in_commit += time.perf_counter() - started

        started, cpu_started = time.perf_counter(), time.thread_time()
        collected_before = _collector_clock.total
        connection._commit = timed_commit
        try:
            with connection.execute_wrapper(count):
                response = self.get_response(request)
        finally:
            del connection._commit  # the class's method again
        response[QUERY_COUNT_HEADER] = str(executed)
        timings = {
            "app": time.perf_counter() - started,
            "sql": in_sql,
            "commit": in_commit,
            "cpu": time.thread_time() - cpu_started,
            "gc": _collector_clock.total - collected_before,
        }
        response[SERVER_TIMING_HEADER] = ", ".join(
            f"{name};dur={seconds * 1000:.1f}" for name, seconds in timings.items()
        )
        return response


def ceiling_view(request: HttpRequest, tenant: str) -> HttpResponse:
    presented = bearer_token(request)
    credential = authenticate_bearer(str(tenant), presented) if presented else None
    if credential is None:
        return JsonResponse({"detail": "unauthorized"}, status=401)
    found = users_named(credential.organization, request.GET.get("userName", "")).exists()
    return JsonResponse({"found": found})
