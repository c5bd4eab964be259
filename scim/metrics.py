"""Prometheus metrics: SCIM requests by organization, operation and status, latencies, and
the time organizations waited for their pace.

``count_call`` receives ``scim.signals.call_completed`` (connected in ``ScimConfig.ready``) and
labels each call from its record; ``metrics_view`` serves ``/metrics``.

Under gunicorn each worker is its own process, so the counters live in prometheus_client's
multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``, set up by ``kno2prov/gunicorn_conf.py``) and
``/metrics`` adds up every worker's files. Without that variable (runserver, tests) the
process's own registry is served.
"""

from __future__ import annotations

import ipaddress
import os

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.crypto import constant_time_compare
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

from core.credentials import bearer_token

from .calls import ScimCall

SCIM_REQUESTS = Counter(
    "kno2prov_scim_requests_total",
    "SCIM requests answered, by organization, operation and HTTP status.",
    ["organization", "operation", "status"],
)
SCIM_LATENCY = Histogram(
    "kno2prov_scim_request_duration_seconds",
    "Time to answer a SCIM request, by operation.",
    ["operation"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0),
)

SCIM_PACED = Counter(
    "kno2prov_scim_paced_seconds_total",
    "Seconds SCIM requests waited for their organization's pace (SCIM_TENANT_PACE), "
    "by organization.",
    ["organization"],
)


# The dispatch_uid ``scim.apps`` connects ``count_call`` under.
DISPATCH_UID = "scim.metrics.count_call"


def count_call(sender: object, *, call: ScimCall, **kwargs: object) -> None:
    """Count and time one completed SCIM call, labelled from its record."""
    organization = call.organization
    SCIM_REQUESTS.labels(
        organization=organization.slug if organization is not None else "-",
        operation=call.operation.value,
        status=str(call.status_code),
    ).inc()
    SCIM_LATENCY.labels(operation=call.operation.value).observe(call.duration_ms / 1000)
    if call.paced_ms and organization is not None:
        SCIM_PACED.labels(organization=organization.slug).inc(call.paced_ms / 1000)


def _allowed(request: HttpRequest) -> bool:
    """A matching ``METRICS_TOKEN`` bearer key, or a peer address (``REMOTE_ADDR``, the direct
    peer, not ``X-Forwarded-For``) inside ``METRICS_ALLOWED_ADDRESSES``. A loopback peer is not
    trusted on its own: behind a reverse proxy on the same host every client is loopback."""
    if settings.METRICS_TOKEN:
        presented = bearer_token(request)
        if presented is not None and constant_time_compare(presented, settings.METRICS_TOKEN):
            return True
    if not settings.METRICS_ALLOWED_ADDRESSES:
        return False
    try:
        peer = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(
        peer in ipaddress.ip_network(allowed, strict=False)
        for allowed in settings.METRICS_ALLOWED_ADDRESSES
    )


def metrics_view(request: HttpRequest) -> HttpResponse:
    """``/metrics``: every worker's samples (multiprocess mode) or this process's; 404 to
    anyone not allowed, so the endpoint is not advertised."""
    if not _allowed(request):
        raise Http404
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
