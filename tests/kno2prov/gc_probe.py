"""The application, served by gunicorn with the production config, plus one probe path that
answers whether the worker froze what it loaded before serving (``post_worker_init``)."""

from __future__ import annotations

import gc
import json

from django.urls import get_resolver

from kno2prov.wsgi import application as django_application

PROBE_PATH = "/gc-probe"


def application(environ, start_response):
    if environ.get("PATH_INFO") != PROBE_PATH:
        return django_application(environ, start_response)
    # The URLconf is imported by the first request Django serves, which this is not: it is
    # loaded already only if the worker did so at startup, and frozen objects are left out of
    # gc.get_objects().
    patterns = get_resolver().url_patterns
    body = json.dumps(
        {
            "frozen": gc.get_freeze_count(),
            "urlconf_frozen": not any(tracked is patterns for tracked in gc.get_objects()),
        }
    ).encode()
    start_response(
        "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    )
    return [body]
