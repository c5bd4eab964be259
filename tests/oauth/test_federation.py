"""Signing keys of workload identity assertions: discovery, caching, one refetch per new kid.

``federation.verify_assertion`` runs in the test process against the real issuer on 127.0.0.1,
so which documents it fetched can be counted exactly (gunicorn's workers each keep a cache).
"""

from __future__ import annotations

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
