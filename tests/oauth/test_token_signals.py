"""The token endpoint reports its outcomes through ``oauth.signals``, never a secret."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from oauth.signals import token_granted, token_request_refused
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def reported():
    """The outcomes each signal carried during the test."""
    seen: dict[str, list] = {"granted": [], "refused": []}

    def on_granted(sender, *, outcome, **kwargs):
        seen["granted"].append(outcome)

    def on_refused(sender, *, outcome, **kwargs):
        seen["refused"].append(outcome)

    token_granted.connect(on_granted)
    token_request_refused.connect(on_refused)
    yield seen
    token_granted.disconnect(on_granted)
    token_request_refused.disconnect(on_refused)


def _request_token(client, organization, client_id: str, secret: str):
    return client.post(
        f"/oauth/{organization.public_id}/token",
        urlencode(
            {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
        ),
        content_type="application/x-www-form-urlencoded",
    )


def test_a_granted_token_request_is_reported_with_its_client(client, organization, reported):
    oauth_client, secret = factories.make_oauth_client(organization)

    response = _request_token(client, organization, oauth_client.client_id, secret)

    assert response.status_code == 200
    assert [(o.client, o.status_code) for o in reported["granted"]] == [(oauth_client, 200)]
    assert reported["refused"] == []


def test_a_refused_token_request_is_reported_without_the_presented_secret(
    client, organization, reported
):
    oauth_client, secret = factories.make_oauth_client(organization)
    wrong = factories.same_key_wrong_secret(secret)

    response = _request_token(client, organization, oauth_client.client_id, wrong)

    assert response.status_code == 401
    [outcome] = reported["refused"]
    assert (outcome.organization, outcome.error) == (organization, "invalid_client")
    assert wrong not in repr(outcome) and secret not in repr(outcome)


def test_a_failing_subscriber_does_not_cost_the_caller_its_token(client, organization):
    def broken(sender, **kwargs):
        raise RuntimeError("history is down")

    token_granted.connect(broken)
    try:
        oauth_client, secret = factories.make_oauth_client(organization)
        response = _request_token(client, organization, oauth_client.client_id, secret)
    finally:
        token_granted.disconnect(broken)

    assert response.status_code == 200
    assert "access_token" in response.json()
