"""gunicorn settings for production: ``gunicorn -c python:kno2prov.gunicorn_conf kno2prov.wsgi``.

Every value can be overridden from the environment (``WEB_CONCURRENCY``, ``GUNICORN_THREADS``,
``GUNICORN_TIMEOUT``, ``PORT``/``BIND``). Azure gives up on a request after 60 seconds; a worker
that has not answered in ``GUNICORN_TIMEOUT`` (30 s) is restarted well before that.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import shutil
import tempfile

bind = os.environ.get("BIND", f"0.0.0.0:{os.environ.get('PORT', '8000')}")
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "20"))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))
# Recycle workers now and then so a slow leak can never take a server down.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "20000"))
max_requests_jitter = max_requests // 10
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108
# Access lines come from core.requestid as JSON with the request id; gunicorn's own would
# repeat them without it.
accesslog = None
errorlog = "-"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")

# Prometheus multiprocess mode: every worker writes its samples under this folder and /metrics
# adds them up. Must be set before the application (and prometheus_client) is imported.
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="kno2prov-metrics-")
_metrics_dir = os.environ["PROMETHEUS_MULTIPROC_DIR"]


def on_starting(server) -> None:
    """Start every server life with empty metrics files, as prometheus_client requires, and
    warn when SCIM requests would wait (``SCIM_TENANT_CONCURRENCY``, ``SCIM_TENANT_PACE``) in
    workers of one thread: each waiting request would hold a whole worker, and one busy
    organization could then keep every other one waiting."""
    shutil.rmtree(_metrics_dir, ignore_errors=True)
    os.makedirs(_metrics_dir, exist_ok=True)
    waits = [
        name
        for name in ("SCIM_TENANT_CONCURRENCY", "SCIM_TENANT_PACE")
        if os.environ.get(name, "0").strip() not in ("", "0")
    ]
    if waits and server.cfg.threads <= 1:
        server.log.warning(
            "%s set with one thread per worker: a waiting request holds a whole worker; "
            "run threaded workers (GUNICORN_THREADS=8)",
            " and ".join(waits),
        )


def child_exit(server, worker) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def post_worker_init(worker) -> None:
    """Keep what the worker loaded at startup out of the garbage collector's full collections.

    A full collection walks every tracked object: about 65 ms here for the ~125,000 objects
    Django, the apps and their URLconf leave behind at startup, paid every so often by
    whichever request triggers it (the p99 of a 1,000-member PATCH, say). ``gc.freeze`` moves
    them to a generation the collector never walks, so a full collection costs only what
    requests allocated since. Django imports the URLconf on the first request; import it now
    so it is frozen too.

    Then start the worker's sync history writer (``portal.writebehind``); ``worker_exit``
    stops it.
    """
    from django.apps import apps

    if apps.ready:
        from django.urls import get_resolver

        _ = get_resolver().url_patterns
    gc.collect()
    gc.freeze()
    if apps.ready:
        from portal import writebehind

        writebehind.start()


def worker_exit(server, worker) -> None:
    """Write the sync history this worker still holds (``portal.writebehind``) before it goes:
    a deploy, ``max_requests`` or ``SIGTERM`` loses none of it."""
    from django.apps import apps

    if apps.ready:
        from portal import writebehind

        writebehind.stop()
