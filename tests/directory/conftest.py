from __future__ import annotations

import pytest

from directory import services
from tests.scim.conftest import other_scim, scim  # noqa: F401 (shared fixtures)

from .receiver import WEBHOOK_SECRET_KEY, Receiver


@pytest.fixture
def receiver():
    running = Receiver().start()
    yield running
    running.stop()


@pytest.fixture
def endpoint(organization, receiver):
    """An endpoint of ``organization`` pointing at ``receiver``, which knows its secret."""
    row, secret = services.add_endpoint(organization, url=receiver.url, actor=None)
    receiver.secret = secret
    return row


@pytest.fixture(autouse=True)
def _fast_retries(settings):
    settings.WEBHOOK_SECRET_KEYS = [WEBHOOK_SECRET_KEY]
    settings.WEBHOOK_RETRY_SECONDS = [1, 1, 2]
    # Long enough that a stalled test process never turns an answered delivery into a failure.
    settings.WEBHOOK_TIMEOUT_SECONDS = 5
    settings.OUTBOUND_ALLOW_LOOPBACK = True  # the receiver runs on 127.0.0.1
