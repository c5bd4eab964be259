"""The production gunicorn config, as a worker runs it."""

from __future__ import annotations

import requests

from tests.conftest import launch_gunicorn

PROBE_PATH = "/gc-probe"  # tests/kno2prov/gc_probe.py's; importing it would load the WSGI app here


def test_a_worker_freezes_the_application_it_loaded_before_serving_its_first_request(tmp_path):
    server = launch_gunicorn(tmp_path, app="tests.kno2prov.gc_probe:application")
    try:
        answer = requests.get(f"{server.url}{PROBE_PATH}", timeout=10).json()
    finally:
        server.stop()

    assert answer["urlconf_frozen"] is True
    assert answer["frozen"] > 0


WHOLE_WORKER = "a waiting request holds a whole worker"


def test_pacing_with_one_thread_per_worker_is_warned_about_at_startup(tmp_path):
    server = launch_gunicorn(tmp_path, threads=1, SCIM_TENANT_PACE="25")
    server.stop()

    assert f"SCIM_TENANT_PACE set with one thread per worker: {WHOLE_WORKER}" in server.log()


def test_pacing_with_threaded_workers_starts_without_that_warning(tmp_path):
    server = launch_gunicorn(tmp_path, threads=4, SCIM_TENANT_PACE="25")
    server.stop()

    assert "Booting worker" in server.log()
    assert WHOLE_WORKER not in server.log()
