"""Bearer authentication of SCIM requests: 401 with a SCIM body unless the token is valid for
this tenant URL, and never any data of another organization."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from organizations import services as organization_services
from organizations.models import ProvisioningToken
from scim.calls import current_call
from tests.schemas import ERROR, PATCH_OP, SCIM_JSON

from .conftest import ScimClient, make_user

ENDPOINTS = ["/Users", "/Groups", "/Schemas", "/ResourceTypes", "/ServiceProviderConfig"]


def assert_unauthorized(response) -> None:
    assert response.status_code == 401
    assert response["Content-Type"].startswith(SCIM_JSON)
    assert response["WWW-Authenticate"] == 'Bearer realm="kno2prov"'
    body = response.json()
    assert body["schemas"] == [ERROR]
    assert body["status"] == "401"


@pytest.mark.parametrize("path", ENDPOINTS)
def test_request_without_token_is_unauthorized(scim, path):
    anonymous = ScimClient.in_process(scim.organization, None)

    assert_unauthorized(anonymous.get(path))


@pytest.mark.parametrize("path", ENDPOINTS)
def test_request_with_valid_token_is_accepted(scim, path):
    assert scim.get(path).status_code == 200


@pytest.mark.parametrize(
    "header",
    [
        "Bearer",
        "Bearer ",
        "Basic dXNlcjpwYXNz",
        "k2p_notatoken",
        "Bearer k2p_AAAAAAAAAAAA_garbage",
    ],
)
def test_malformed_or_unknown_token_is_unauthorized(scim, header):
    response = scim.client.get(f"{scim.base}/Users", HTTP_AUTHORIZATION=header)

    assert_unauthorized(response)


def test_bearer_scheme_is_matched_case_insensitively(scim):
    response = scim.client.get(f"{scim.base}/Users", HTTP_AUTHORIZATION=f"bearer {scim.token}")

    assert response.status_code == 200


def test_revoked_token_is_unauthorized(scim, token):
    organization_services.revoke_token(token[0], actor=None)

    assert_unauthorized(scim.get("/Users"))


def test_expired_token_is_unauthorized(scim, token):
    ProvisioningToken.objects.filter(pk=token[0].pk).update(
        expires_at=timezone.now() + timedelta(days=1)
    )

    with time_machine.travel(timezone.now() + timedelta(days=2)):
        assert_unauthorized(scim.get("/Users"))


def test_token_stops_working_when_provisioning_is_disabled(scim):
    organization_services.disable_provisioning_for(scim.organization, actor=None)

    assert_unauthorized(scim.get("/Users"))


def test_unauthorized_response_never_echoes_the_token(scim, other_scim):
    response = scim.client.get(
        f"{scim.base}/Users", HTTP_AUTHORIZATION=f"Bearer {other_scim.token}"
    )

    assert other_scim.token.encode() not in response.content
    assert other_scim.token not in response["WWW-Authenticate"]


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE"])
def test_other_organizations_token_on_this_tenant_url_is_unauthorized(scim, other_scim, method):
    user = make_user(scim.organization, "alice@riverside.example")
    intruder = ScimClient.in_process(scim.organization, other_scim.token)
    body = {
        "schemas": [PATCH_OP],
        "Operations": [{"op": "replace", "path": "active", "value": False}],
    }

    response = intruder.send(method, f"/Users/{user.scim_id}", body)

    assert_unauthorized(response)
    assert b"alice" not in response.content
    user.refresh_from_db()
    assert user.active is True


def test_token_of_other_organization_works_only_at_its_own_tenant_url(other_scim):
    assert other_scim.get("/Users").status_code == 200


def test_auth_puts_the_credential_and_its_organization_in_the_call(scim, token):
    call = current_call(scim.get("/Users").wsgi_request)

    assert call.organization == scim.organization
    assert call.credential.token == token[0]


def test_failed_auth_leaves_no_organization_in_the_call(scim):
    call = current_call(ScimClient.in_process(scim.organization, None).get("/Users").wsgi_request)

    assert (call.organization, call.credential, call.status_code) == (None, None, 401)


def test_scim_writes_work_with_csrf_checks_enforced(scim):
    strict = ScimClient.in_process(scim.organization, scim.token, Client(enforce_csrf_checks=True))

    response = strict.post("/Users", {"userName": "csrf@riverside.example"})

    assert response.status_code == 201
