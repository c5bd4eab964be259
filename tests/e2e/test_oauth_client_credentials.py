"""OAuth 2.0 client credentials (RFC 6749 §4.4) as Entra ID uses them, over gunicorn.

Entra POSTs ``grant_type=client_credentials`` with the client id and secret in the
``Authorization`` header (``client_secret_basic``) or the body (``client_secret_post``), then
sends the access token as the bearer token of every SCIM request
(``docs/azure-scim-client.md`` §4.1).
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import requests
from django.utils import timezone

from oauth import services as oauth
from oauth.models import OAuthClientSecret
from organizations import services
from portal import services as services_history
from portal.explanations import explain_failure
from portal.models import SyncEvent
from tests import factories
from tests.scim_client import ScimClient, assert_error, assert_list_response

from .conftest import tenant_url
from .oauth import assert_oauth_error, request_token, secret_basic, secret_post

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def oauth_client(organization):
    """A client-credentials client of ``organization``: ``(row, secret plaintext)``."""
    return factories.make_oauth_client(organization)


def access_token(server, organization, oauth_client) -> str:
    client, secret = oauth_client
    response = secret_basic(server, organization, client.client_id, secret)
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def scim_with(server, organization, bearer: str) -> ScimClient:
    return ScimClient(tenant_url(server, organization), bearer)


def test_client_secret_basic_gets_a_bearer_token_that_lives_one_hour(
    gunicorn_server, organization, oauth_client
):
    client, secret = oauth_client
    response = secret_basic(gunicorn_server, organization, client.client_id, secret)
    assert response.status_code == 200, response.text
    assert response.headers["Cache-Control"] == "no-store"
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in"}
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600


def test_client_secret_post_gets_a_token_too(gunicorn_server, organization, oauth_client):
    client, secret = oauth_client
    response = secret_post(gunicorn_server, organization, client.client_id, secret)
    assert response.status_code == 200, response.text
    assert response.json()["access_token"].startswith("k2a_")


def test_scope_is_accepted_as_entra_sends_it_and_echoed(
    gunicorn_server, organization, oauth_client
):
    client, secret = oauth_client
    response = request_token(
        gunicorn_server,
        organization,
        {
            "grant_type": "client_credentials",
            "scope": "api://kno2-scim/.default",
        },
        basic=(client.client_id, secret),
    )
    assert response.status_code == 200, response.text
    assert response.json()["scope"] == "api://kno2-scim/.default"


def test_access_token_passes_test_connection_and_a_provisioning_cycle(
    gunicorn_server, organization, oauth_client, other_scim
):
    scim = scim_with(
        gunicorn_server, organization, access_token(gunicorn_server, organization, oauth_client)
    )
    probe = scim.session.get(
        scim.url("/Users"), params={"filter": f'userName eq "{uuid.uuid4()}"'}, timeout=30
    )
    assert assert_list_response(probe)["totalResults"] == 0

    user = scim.create_user("ada@riverside.test", externalId=str(uuid.uuid4()))
    group = scim.create_group("Cardiology")
    response = scim.patch_ops(
        f"/Groups/{group['id']}", {"op": "Add", "path": "members", "value": [{"value": user["id"]}]}
    )
    assert response.status_code == 204, response.text
    response = scim.patch_ops(
        f"/Users/{user['id']}", {"op": "Replace", "path": "active", "value": False}
    )
    assert response.status_code == 200, response.text
    assert response.json()["active"] is False
    assert [found["id"] for found in scim.search("Users", 'userName eq "ada@riverside.test"')] == [
        user["id"]
    ]
    assert other_scim.search("Users", 'userName eq "ada@riverside.test"') == []


def test_history_names_the_oauth_client_that_made_each_request(
    gunicorn_server, organization, oauth_client
):
    client, _ = oauth_client
    scim = scim_with(
        gunicorn_server, organization, access_token(gunicorn_server, organization, oauth_client)
    )
    scim.search("Users", f'userName eq "{uuid.uuid4()}"')
    event = SyncEvent.objects.for_organization(organization).newest_first().first()
    assert (event.credential_kind, event.credential_id) == ("oauth_client", client.client_id)
    assert event.token_id is None


def test_wrong_secret_is_invalid_client_and_tells_nothing_more(
    gunicorn_server, organization, oauth_client
):
    client, _ = oauth_client
    _, secret_of_another_client = factories.make_oauth_client(organization)
    response = secret_basic(
        gunicorn_server, organization, client.client_id, secret_of_another_client
    )
    body = assert_oauth_error(response, 401, "invalid_client")
    assert body["error_description"] == "Client authentication failed."
    # Not the organization's own job: counted, never written into its history.
    assert not SyncEvent.objects.for_organization(organization).exists()
    assert services_history.failed_authentications(organization, hours=1) == 1


def test_expired_secret_is_refused_and_history_says_when_it_expired(
    gunicorn_server, organization, oauth_client
):
    client, secret = oauth_client
    expired_at = timezone.now() - timedelta(days=1)
    OAuthClientSecret.objects.filter(client=client).update(expires_at=expired_at)
    response = secret_basic(gunicorn_server, organization, client.client_id, secret)
    assert_oauth_error(response, 401, "invalid_client")
    event = SyncEvent.objects.for_organization(organization).failures().newest_first().first()
    assert (event.operation, event.credential_id) == ("token_request", client.client_id)
    assert f"expired on {expired_at:%Y-%m-%d}" in event.error_detail
    assert f"expired on {expired_at:%Y-%m-%d}" in explain_failure(
        operation=event.operation, status_code=event.status_code, error_detail=event.error_detail
    )


def test_revoked_client_gets_no_token_and_its_access_tokens_stop_at_once(
    gunicorn_server, organization, oauth_client
):
    client, secret = oauth_client
    scim = scim_with(
        gunicorn_server, organization, access_token(gunicorn_server, organization, oauth_client)
    )
    scim.search("Users", f'userName eq "{uuid.uuid4()}"')
    oauth.revoke_oauth_client(client, actor=None)
    assert_error(scim.get("/Users"), 401)
    response = secret_basic(gunicorn_server, organization, client.client_id, secret)
    body = assert_oauth_error(response, 401, "invalid_client")
    assert "revoked" in body["error_description"]


def test_disabled_provisioning_refuses_token_requests_and_access_tokens(
    gunicorn_server, organization, oauth_client
):
    client, secret = oauth_client
    scim = scim_with(
        gunicorn_server, organization, access_token(gunicorn_server, organization, oauth_client)
    )
    services.disable_provisioning_for(organization, actor=None)
    assert_error(scim.get("/Users"), 401)
    response = secret_basic(gunicorn_server, organization, client.client_id, secret)
    body = assert_oauth_error(response, 401, "invalid_client")
    assert "Provisioning is disabled" in body["error_description"]


def test_rotation_past_the_grace_period_stops_tokens_of_the_old_secret(
    gunicorn_server, organization, oauth_client
):
    client, old_secret = oauth_client
    old_scim = scim_with(
        gunicorn_server, organization, access_token(gunicorn_server, organization, oauth_client)
    )
    _, new_secret = oauth.rotate_client_secret(client, actor=None, grace_days=0)
    assert_error(old_scim.get("/Users"), 401)
    assert_oauth_error(
        secret_basic(gunicorn_server, organization, client.client_id, old_secret),
        401,
        "invalid_client",
    )
    new_scim = scim_with(
        gunicorn_server,
        organization,
        access_token(gunicorn_server, organization, (client, new_secret)),
    )
    assert new_scim.search("Users", f'userName eq "{uuid.uuid4()}"') == []


def test_rotation_within_the_grace_period_keeps_both_secrets_working(
    gunicorn_server, organization, oauth_client
):
    client, old_secret = oauth_client
    _, new_secret = oauth.rotate_client_secret(client, actor=None, grace_days=7)
    for secret in (old_secret, new_secret):
        assert (
            secret_basic(gunicorn_server, organization, client.client_id, secret).status_code == 200
        )


def test_another_organizations_access_token_is_refused_here(
    gunicorn_server, organization, other_organization
):
    other_client = factories.make_oauth_client(other_organization)
    foreign = access_token(gunicorn_server, other_organization, other_client)
    assert_error(scim_with(gunicorn_server, organization, foreign).get("/Users"), 401)


def test_another_organizations_client_gets_no_token_at_this_endpoint(
    gunicorn_server, organization, other_organization
):
    other_client, other_secret = factories.make_oauth_client(other_organization)
    response = secret_basic(gunicorn_server, organization, other_client.client_id, other_secret)
    assert_oauth_error(response, 401, "invalid_client")


def test_a_secret_token_is_no_access_token_and_no_client_secret(
    gunicorn_server, organization, token, oauth_client
):
    _, secret_token = token
    client, _ = oauth_client
    response = secret_basic(gunicorn_server, organization, client.client_id, secret_token)
    assert_oauth_error(response, 401, "invalid_client")


@pytest.mark.parametrize(
    ("form", "error"),
    [
        ({"grant_type": "password", "username": "a", "password": "b"}, "unsupported_grant_type"),
        ({"grant_type": "authorization_code", "code": "x"}, "unsupported_grant_type"),
        ({"scope": "scim"}, "invalid_request"),
        ({"grant_type": "client_credentials", "scope": 'scim "quoted"'}, "invalid_scope"),
    ],
)
def test_malformed_requests_get_their_rfc_6749_error(
    gunicorn_server, organization, oauth_client, form, error
):
    client, secret = oauth_client
    response = request_token(gunicorn_server, organization, form, basic=(client.client_id, secret))
    assert_oauth_error(response, 400, error)


def test_credentials_in_the_query_string_are_refused(gunicorn_server, organization, oauth_client):
    client, secret = oauth_client
    response = requests.post(
        f"{gunicorn_server.url}/oauth/{organization.public_id}/token",
        params={"client_id": client.client_id, "client_secret": secret},
        data={"grant_type": "client_credentials"},
        timeout=30,
    )
    assert_oauth_error(response, 400, "invalid_request")


def test_get_is_not_a_token_request(gunicorn_server, organization):
    response = requests.get(
        f"{gunicorn_server.url}/oauth/{organization.public_id}/token", timeout=30
    )
    assert response.status_code == 405
    assert response.headers["Allow"] == "POST"
