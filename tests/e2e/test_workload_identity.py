"""Workload identity federation (RFC 7523 §2.2) against a real issuer on 127.0.0.1.

The issuer (``tests.entra_issuer``) serves its OpenID discovery document and JWKS over HTTP
and signs assertions as Entra ID signs them for its provisioning workload identity; gunicorn
fetches and verifies them for real. ``ENTRA_AUTHORITY_HOST`` points at the issuer, so staff can
configure its issuer URL for the organization's tenant.
"""

from __future__ import annotations

import time
import uuid

import pytest

from oauth import federation
from oauth import services as oauth
from portal import services as history
from portal.models import SyncEvent
from tests import factories
from tests.entra_issuer import EntraLikeIssuer, SigningKey, assertion_form
from tests.scim_client import ScimClient, assert_error, assert_list_response

from .conftest import tenant_url
from .oauth import assert_oauth_error, request_token

pytestmark = pytest.mark.django_db(transaction=True)

SUBJECT = "5d3e0c3a-0000-4c6e-9b1a-5f1e2d3c4b5a"
AUDIENCE = "api://kno2-scim"


@pytest.fixture(scope="module")
def issuer():
    running = EntraLikeIssuer()
    yield running
    running.stop()


@pytest.fixture(autouse=True)
def _authority(settings, issuer):
    settings.ENTRA_AUTHORITY_HOST = issuer.base
    federation.forget_cached_keys()


@pytest.fixture
def federated(organization, issuer):
    return factories.make_workload_identity(
        organization, issuer, subject=SUBJECT, audience=AUDIENCE
    )


def claims(issuer, organization, **overrides):
    return issuer.claims(
        str(organization.sso_tenant_id), subject=SUBJECT, audience=AUDIENCE, **overrides
    )


def exchange(server, organization, assertion, client_id=None):
    return request_token(server, organization, assertion_form(assertion, client_id))


def latest_failure(organization) -> SyncEvent:
    return SyncEvent.objects.for_organization(organization).failures().newest_first().first()


def test_assertion_found_through_discovery_gets_a_token_for_a_provisioning_cycle(
    gunicorn_server, organization, issuer, federated, other_scim
):
    response = exchange(
        gunicorn_server,
        organization,
        issuer.sign(claims(issuer, organization)),
        federated.client_id,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert f"/{organization.sso_tenant_id}/v2.0/.well-known/openid-configuration" in " ".join(
        issuer.requests
    )

    scim = ScimClient(tenant_url(gunicorn_server, organization), body["access_token"])
    probe = scim.session.get(
        scim.url("/Users"), params={"filter": f'userName eq "{uuid.uuid4()}"'}, timeout=30
    )
    assert assert_list_response(probe)["totalResults"] == 0
    user = scim.create_user("grace@riverside.test")
    response = scim.patch_ops(
        f"/Users/{user['id']}", {"op": "Replace", "path": "active", "value": False}
    )
    assert response.status_code == 200, response.text
    assert other_scim.search("Users", 'userName eq "grace@riverside.test"') == []
    event = SyncEvent.objects.for_organization(organization).newest_first().first()
    assert (event.credential_kind, event.credential_id) == (
        "workload_identity",
        federated.client_id,
    )


def test_client_id_may_be_left_out_the_organization_has_one_federation(
    gunicorn_server, organization, issuer, federated
):
    response = exchange(gunicorn_server, organization, issuer.sign(claims(issuer, organization)))
    assert response.status_code == 200, response.text


def test_jwks_url_override_is_used_instead_of_discovery(gunicorn_server, organization, issuer):
    factories.make_workload_identity(
        organization,
        issuer,
        subject=SUBJECT,
        audience=AUDIENCE,
        jwks_url=f"{issuer.base}/custom-keys",
    )
    issuer.requests.clear()
    response = exchange(gunicorn_server, organization, issuer.sign(claims(issuer, organization)))
    assert response.status_code == 200, response.text
    assert issuer.requests == ["/custom-keys"]


def test_assertion_signed_by_another_key_is_refused(
    gunicorn_server, organization, issuer, federated
):
    forged = issuer.sign(
        claims(issuer, organization), key=SigningKey(kid="x"), kid=issuer.keys[0].kid
    )
    body = assert_oauth_error(
        exchange(gunicorn_server, organization, forged), 401, "invalid_client"
    )
    assert "signature" in body["error_description"]
    assert latest_failure(organization) is None


def test_alg_none_is_refused(gunicorn_server, organization, issuer, federated):
    response = exchange(
        gunicorn_server, organization, issuer.unsigned(claims(issuer, organization))
    )
    body = assert_oauth_error(response, 401, "invalid_client")
    assert "'none'" in body["error_description"]


def test_hs256_keyed_by_the_public_key_is_refused(gunicorn_server, organization, issuer, federated):
    response = exchange(
        gunicorn_server, organization, issuer.hmac_with_public_key(claims(issuer, organization))
    )
    body = assert_oauth_error(response, 401, "invalid_client")
    assert "'HS256'" in body["error_description"]


def test_wrong_audience_is_refused_and_history_names_both_values(
    gunicorn_server, organization, issuer, federated
):
    response = exchange(
        gunicorn_server,
        organization,
        issuer.sign(claims(issuer, organization, aud="api://someone-else")),
    )
    assert_oauth_error(response, 401, "invalid_client")
    assert latest_failure(organization).error_detail == (
        f"The assertion audience is api://someone-else, this organization expects {AUDIENCE}."
    )


def test_wrong_issuer_is_refused(gunicorn_server, organization, issuer, federated):
    other_tenant = str(uuid.uuid4())
    response = exchange(
        gunicorn_server,
        organization,
        issuer.sign(claims(issuer, organization, iss=issuer.issuer(other_tenant))),
    )
    body = assert_oauth_error(response, 401, "invalid_client")
    assert f"issuer is {issuer.issuer(other_tenant)}" in body["error_description"]
    # Not signed for this organization's workload identity: counted, not in its history.
    assert latest_failure(organization) is None
    assert history.failed_authentications(organization, hours=1) == 1


def test_wrong_subject_is_refused(gunicorn_server, organization, issuer, federated):
    response = exchange(
        gunicorn_server,
        organization,
        issuer.sign(claims(issuer, organization, sub=str(uuid.uuid4()))),
    )
    body = assert_oauth_error(response, 401, "invalid_client")
    assert "subject is" in body["error_description"]
    assert latest_failure(organization) is None


def test_expired_assertion_is_refused(gunicorn_server, organization, issuer, federated):
    now = int(time.time())
    response = exchange(
        gunicorn_server,
        organization,
        issuer.sign(claims(issuer, organization, iat=now - 900, nbf=now - 900, exp=now - 600)),
    )
    assert_oauth_error(response, 401, "invalid_client")
    assert "expired" in latest_failure(organization).error_detail


def test_assertion_not_yet_valid_is_refused(gunicorn_server, organization, issuer, federated):
    now = int(time.time())
    response = exchange(
        gunicorn_server, organization, issuer.sign(claims(issuer, organization, nbf=now + 600))
    )
    assert_oauth_error(response, 401, "invalid_client")
    assert "not valid before" in latest_failure(organization).error_detail


def test_assertion_without_exp_is_refused(gunicorn_server, organization, issuer, federated):
    assertion = issuer.sign(
        {name: value for name, value in claims(issuer, organization).items() if name != "exp"}
    )
    body = assert_oauth_error(
        exchange(gunicorn_server, organization, assertion), 401, "invalid_client"
    )
    assert "'exp'" in body["error_description"]


def test_small_clock_skew_is_tolerated(gunicorn_server, organization, issuer, federated):
    now = int(time.time())
    response = exchange(
        gunicorn_server,
        organization,
        issuer.sign(claims(issuer, organization, nbf=now + 20, iat=now + 20)),
    )
    assert response.status_code == 200, response.text


def test_replayed_assertion_is_refused(gunicorn_server, organization, issuer, federated):
    assertion = issuer.sign(claims(issuer, organization))
    assert exchange(gunicorn_server, organization, assertion).status_code == 200
    body = assert_oauth_error(
        exchange(gunicorn_server, organization, assertion), 401, "invalid_client"
    )
    assert "already exchanged" in body["error_description"]


def test_another_organizations_assertion_is_refused_here(
    gunicorn_server, organization, other_organization, issuer, federated
):
    factories.make_workload_identity(other_organization, issuer, subject=SUBJECT, audience=AUDIENCE)
    foreign = issuer.sign(
        issuer.claims(str(other_organization.sso_tenant_id), subject=SUBJECT, audience=AUDIENCE)
    )
    assert_oauth_error(exchange(gunicorn_server, organization, foreign), 401, "invalid_client")
    token = exchange(gunicorn_server, other_organization, foreign).json()["access_token"]
    scim = ScimClient(tenant_url(gunicorn_server, organization), token)
    assert_error(scim.get("/Users"), 401)


def test_revoking_the_federation_stops_its_access_tokens_at_once(
    gunicorn_server, organization, issuer, federated
):
    token = exchange(
        gunicorn_server, organization, issuer.sign(claims(issuer, organization))
    ).json()["access_token"]
    scim = ScimClient(tenant_url(gunicorn_server, organization), token)
    assert scim.get("/Users").status_code == 200
    oauth.revoke_oauth_client(federated, actor=None)
    assert_error(scim.get("/Users"), 401)
    assert_oauth_error(
        exchange(gunicorn_server, organization, issuer.sign(claims(issuer, organization))),
        401,
        "invalid_client",
    )
