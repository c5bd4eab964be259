"""Signing keys of workload identity assertions: discovery, caching, one refetch per new kid.

``federation.verify_assertion`` runs in the test process against the real issuer on 127.0.0.1,
so which documents it fetched can be counted exactly (gunicorn's workers each keep a cache).
"""

from __future__ import annotations

import base64
import json

import pytest

from oauth import federation
from oauth.federation import AssertionRejected, verify_assertion
from tests import factories
from tests.entra_issuer import EntraLikeIssuer, SigningKey

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
    settings.WORKLOAD_IDENTITY_JWKS_REFRESH_COOLDOWN_SECONDS = 0
    settings.OUTBOUND_ALLOW_LOOPBACK = True  # the issuer runs on 127.0.0.1
    federation.forget_cached_keys()
    yield
    federation.forget_cached_keys()


@pytest.fixture
def federated(organization, issuer):
    return factories.make_workload_identity(
        organization, issuer, subject=SUBJECT, audience=AUDIENCE
    )


def sign(issuer, organization, key=None):
    claims = issuer.claims(str(organization.sso_tenant_id), subject=SUBJECT, audience=AUDIENCE)
    return issuer.sign(claims, key=key)


def keys_path(organization) -> str:
    return f"/{organization.sso_tenant_id}/discovery/v2.0/keys"


def test_keys_are_found_through_discovery_and_then_cached(issuer, organization, federated):
    issuer.requests.clear()
    verify_assertion(federated, sign(issuer, organization))
    verify_assertion(federated, sign(issuer, organization))
    assert issuer.requests == [
        f"/{organization.sso_tenant_id}/v2.0/.well-known/openid-configuration",
        keys_path(organization),
    ]


def test_a_key_published_after_caching_is_fetched_once(issuer, organization, federated):
    verify_assertion(federated, sign(issuer, organization))
    new_key = issuer.rotate()
    issuer.requests.clear()
    verify_assertion(federated, sign(issuer, organization, key=new_key))
    verify_assertion(federated, sign(issuer, organization, key=new_key))
    assert issuer.requests == [keys_path(organization)]


def test_an_unknown_kid_is_refused_after_one_refetch(issuer, organization, federated):
    verify_assertion(federated, sign(issuer, organization))
    issuer.requests.clear()
    with pytest.raises(AssertionRejected, match="'not-published', which is not among"):
        verify_assertion(federated, sign(issuer, organization, key=SigningKey("not-published")))
    assert issuer.requests == [keys_path(organization)]


def test_refetches_wait_for_the_cooldown(settings, issuer, organization, federated):
    settings.WORKLOAD_IDENTITY_JWKS_REFRESH_COOLDOWN_SECONDS = 30
    federation.forget_cached_keys()
    verify_assertion(federated, sign(issuer, organization))
    issuer.requests.clear()
    for _ in range(3):
        with pytest.raises(AssertionRejected):
            verify_assertion(federated, sign(issuer, organization, key=SigningKey("made-up")))
    assert issuer.requests == []


def test_a_missing_discovery_document_refuses_with_retry_later(issuer, organization, federated):
    federated.issuer = issuer.issuer(str(organization.sso_tenant_id)) + "/nowhere"
    with pytest.raises(AssertionRejected, match="discovery document at .*; retry later"):
        verify_assertion(federated, sign(issuer, organization))


def test_an_assertion_for_another_organizations_tenant_is_refused(
    issuer, organization, other_organization, federated
):
    claims = issuer.claims(
        str(other_organization.sso_tenant_id), subject=SUBJECT, audience=AUDIENCE
    )
    with pytest.raises(AssertionRejected, match="this organization expects"):
        verify_assertion(federated, issuer.sign(claims))


def test_verification_runs_a_bounded_number_of_queries(
    issuer, organization, federated, django_assert_max_num_queries
):
    verify_assertion(federated, sign(issuer, organization))
    with django_assert_max_num_queries(4):
        verify_assertion(federated, sign(issuer, organization))


def _forged(issuer, organization, header: dict) -> str:
    """An assertion naming the configured issuer and workload identity, with ``header`` and a
    signature made by nobody's key."""
    claims = issuer.claims(str(organization.sso_tenant_id), subject=SUBJECT, audience=AUDIENCE)
    parts = [json.dumps(header).encode(), json.dumps(claims).encode(), b"not a signature"]
    return ".".join(base64.urlsafe_b64encode(part).rstrip(b"=").decode() for part in parts)


def test_a_forged_assertion_whose_alg_is_not_the_keys_is_not_authentic(
    issuer, organization, federated
):
    forged = _forged(issuer, organization, {"alg": "RS384", "kid": issuer.keys[0].kid})
    with pytest.raises(AssertionRejected) as refused:
        verify_assertion(federated, forged)
    assert refused.value.authentic is False


def test_an_assertion_whose_alg_is_not_the_keys_is_refused_naming_both(
    issuer, organization, federated
):
    forged = _forged(issuer, organization, {"alg": "RS384", "kid": issuer.keys[0].kid})
    with pytest.raises(AssertionRejected, match="signed with 'RS384', but key .* is RS256"):
        verify_assertion(federated, forged)


def test_an_assertion_with_an_unsupported_critical_header_is_refused(
    issuer, organization, federated
):
    header = {"alg": "RS256", "kid": issuer.keys[0].kid, "crit": ["exp"], "exp": 1}
    with pytest.raises(AssertionRejected, match="not a signed JWT") as refused:
        verify_assertion(federated, _forged(issuer, organization, header))
    assert refused.value.authentic is False


def test_a_correctly_signed_assertion_with_a_wrong_audience_is_authentic(
    issuer, organization, federated
):
    claims = issuer.claims(
        str(organization.sso_tenant_id), subject=SUBJECT, audience="api://someone-else"
    )
    with pytest.raises(AssertionRejected, match="audience is api://someone-else") as refused:
        verify_assertion(federated, issuer.sign(claims))
    assert refused.value.authentic is True


# -- Entra's real token shapes (v2 with uti, v1) ---------------------------------------------

APP_ID = "0c2bfd5a-4b7e-4d3b-9a55-3f0e1c6a8b21"


@pytest.fixture
def federated_to_app(organization, issuer):
    """Configured as Microsoft's setup guide says: the bare Application (client) ID."""
    return factories.make_workload_identity(organization, issuer, subject=SUBJECT, audience=APP_ID)


def test_an_entra_v2_token_without_jti_is_accepted_by_its_uti(
    issuer, organization, federated_to_app
):
    claims = issuer.claims(str(organization.sso_tenant_id), subject=SUBJECT, audience=APP_ID)
    assert "jti" not in claims
    assert verify_assertion(federated_to_app, issuer.sign(claims))["uti"] == claims["uti"]


def test_an_entra_v2_token_is_refused_the_second_time_by_its_uti(
    issuer, organization, federated_to_app
):
    claims = issuer.claims(str(organization.sso_tenant_id), subject=SUBJECT, audience=APP_ID)
    verify_assertion(federated_to_app, issuer.sign(claims))
    replay = issuer.sign({**claims, "iat": claims["iat"] - 1})
    with pytest.raises(AssertionRejected, match="already exchanged"):
        verify_assertion(federated_to_app, replay)


def test_a_token_with_neither_jti_nor_uti_is_refused(issuer, organization, federated_to_app):
    claims = issuer.claims(
        str(organization.sso_tenant_id), subject=SUBJECT, audience=APP_ID, uti=None
    )
    with pytest.raises(AssertionRejected, match="neither a 'jti' nor a 'uti'"):
        verify_assertion(federated_to_app, issuer.sign(claims))


def test_an_entra_v1_token_of_the_same_tenant_is_accepted(issuer, organization, federated_to_app):
    claims = issuer.v1_claims(
        str(organization.sso_tenant_id), subject=SUBJECT, audience=f"api://{APP_ID}"
    )
    assert verify_assertion(federated_to_app, issuer.sign(claims))["ver"] == "1.0"


def test_a_v1_token_of_another_tenant_is_refused(
    issuer, organization, other_organization, federated_to_app
):
    claims = issuer.v1_claims(
        str(other_organization.sso_tenant_id), subject=SUBJECT, audience=APP_ID
    )
    with pytest.raises(AssertionRejected, match="issuer is https://sts.windows.net/"):
        verify_assertion(federated_to_app, issuer.sign(claims))


def test_an_audience_configured_as_api_uri_accepts_the_bare_application_id(issuer, organization):
    client = factories.make_workload_identity(
        organization, issuer, subject=SUBJECT, audience=f"api://{APP_ID}"
    )
    claims = issuer.claims(str(organization.sso_tenant_id), subject=SUBJECT, audience=APP_ID)
    assert verify_assertion(client, issuer.sign(claims))["aud"] == APP_ID


def test_another_applications_id_is_refused_as_audience(issuer, organization, federated_to_app):
    other = "11111111-2222-4333-8444-555555555555"
    claims = issuer.claims(str(organization.sso_tenant_id), subject=SUBJECT, audience=other)
    with pytest.raises(AssertionRejected, match=f"audience is {other}"):
        verify_assertion(federated_to_app, issuer.sign(claims))


def test_discovery_on_loopback_is_not_fetched_without_the_loopback_setting(
    settings, issuer, organization, federated
):
    settings.OUTBOUND_ALLOW_LOOPBACK = False
    issuer.requests.clear()
    with pytest.raises(AssertionRejected, match="Could not read the issuer's OpenID discovery"):
        verify_assertion(federated, sign(issuer, organization))
    assert issuer.requests == []


def test_a_jwks_url_on_loopback_is_not_fetched_without_the_loopback_setting(
    settings, issuer, organization, federated
):
    federated.jwks_url = f"{issuer.base}{keys_path(organization)}"
    federated.save(update_fields=["jwks_url"])
    settings.OUTBOUND_ALLOW_LOOPBACK = False
    issuer.requests.clear()
    with pytest.raises(AssertionRejected, match="Could not read the signing keys"):
        verify_assertion(federated, sign(issuer, organization))
    assert issuer.requests == []
