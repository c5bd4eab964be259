"""Changing the key webhook secrets are encrypted with: put a new key first in
``WEBHOOK_SECRET_KEYS``, run ``reencrypt_webhook_secrets``, then drop the old key."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command

from directory import delivery, services, signing
from directory.models import WebhookSecret
from tests.scim.conftest import make_user

pytestmark = pytest.mark.django_db

OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()


@pytest.fixture
def secrets_under_the_old_key(settings, organization, receiver):
    """Two endpoints, one of them rotated (two secrets), all encrypted with the old key only."""
    settings.WEBHOOK_SECRET_KEYS = [OLD_KEY]
    endpoint, _ = services.add_endpoint(organization, url=receiver.url, actor=None)
    services.add_endpoint(None, url="https://all.example/h", actor=None)
    rotated = services.rotate_secret(endpoint, actor=None)
    receiver.secret = rotated
    return {row.pk: signing.decrypt(row.encrypted) for row in WebhookSecret.objects.all()}


def test_after_reencrypting_every_secret_decrypts_with_the_new_key_alone(
    settings, secrets_under_the_old_key
):
    settings.WEBHOOK_SECRET_KEYS = [NEW_KEY, OLD_KEY]
    call_command("reencrypt_webhook_secrets", stdout=None)

    settings.WEBHOOK_SECRET_KEYS = [NEW_KEY]
    after = {row.pk: signing.decrypt(row.encrypted) for row in WebhookSecret.objects.all()}
    assert len(after) == 3
    assert after == secrets_under_the_old_key


def test_deliveries_still_verify_once_the_old_key_is_gone(
    settings, organization, receiver, secrets_under_the_old_key
):
    settings.WEBHOOK_SECRET_KEYS = [NEW_KEY, OLD_KEY]
    call_command("reencrypt_webhook_secrets", stdout=None)
    settings.WEBHOOK_SECRET_KEYS = [NEW_KEY]
    make_user(organization, "alice@riverside.example")

    endpoint = organization.webhook_endpoints.get()
    outcome = delivery.deliver_stream(endpoint.pk, organization.pk, owner="test-worker")

    assert outcome.delivered == 1
    assert receiver.rejected == []
