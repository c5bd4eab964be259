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
