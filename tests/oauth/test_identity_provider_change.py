"""Changing an organization's identity provider revokes workload identity federation bound to
the old tenant at once (issue 19 item 2), and federation is for Entra connections only."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from oauth import federation
from oauth import services as oauth
from oauth.models import OAuthAccessToken, OAuthClient
from organizations import services as org_services
from organizations.models import AuditRecord
from organizations.services import ProvisioningError
from tests import factories
from tests.entra_issuer import EntraLikeIssuer, assertion_form

SUBJECT = "5d3e0c3a-0000-4c6e-9b1a-5f1e2d3c4b5a"
AUDIENCE = "api://kno2-scim"
NEW_TENANT_ISSUER = f"https://sts.windows.net/{factories.TENANT_B}/"


@pytest.fixture(scope="module")
def issuer():
    running = EntraLikeIssuer()
    yield running
    running.stop()


@pytest.fixture(autouse=True)
def _authority(settings, issuer):
    settings.ENTRA_AUTHORITY_HOST = issuer.base
    settings.OUTBOUND_ALLOW_LOOPBACK = True  # the issuer runs on 127.0.0.1
    federation.forget_cached_keys()
    yield
    federation.forget_cached_keys()


@pytest.fixture
def federated(organization, issuer):
    return factories.make_workload_identity(
        organization, issuer, subject=SUBJECT, audience=AUDIENCE
    )


def _exchange(client, organization, issuer, tenant):
    assertion = issuer.sign(issuer.claims(tenant, subject=SUBJECT, audience=AUDIENCE))
    return client.post(
        f"/oauth/{organization.public_id}/token",
        urlencode(assertion_form(assertion)),
        content_type="application/x-www-form-urlencoded",
    )


def test_an_assertion_of_the_old_tenant_gets_no_access_token_after_a_new_tenant(
    client, organization, issuer, federated
):
    assert _exchange(client, organization, issuer, factories.TENANT_A).status_code == 200

    org_services.set_sso_issuer(organization, NEW_TENANT_ISSUER, actor=None)

    answer = _exchange(client, organization, issuer, factories.TENANT_A)
    assert answer.status_code == 401
    assert "access_token" not in answer.json()


def test_access_tokens_issued_to_the_old_tenant_stop_at_once(
    client, organization, issuer, federated
):
    token = _exchange(client, organization, issuer, factories.TENANT_A).json()["access_token"]
    assert oauth.authenticate_access_token(str(organization.public_id), token) is not None

    org_services.set_sso_issuer(organization, NEW_TENANT_ISSUER, actor=None)

    assert oauth.authenticate_access_token(str(organization.public_id), token) is None
    assert not OAuthAccessToken.objects.filter(client=federated, revoked_at__isnull=True).exists()


def test_the_revocation_is_audited_and_named_in_the_issuer_change(
    organization, federated, staff_user
):
    org_services.set_sso_issuer(organization, NEW_TENANT_ISSUER, actor=staff_user)

    revoked = AuditRecord.objects.get(
        organization=organization, action="workload_identity_revoked_idp_changed"
    )
    issuer_set = AuditRecord.objects.filter(organization=organization).first()
    assert (revoked.actor, revoked.detail["client_id"]) == (staff_user, federated.client_id)
    assert issuer_set.detail["trust_ended"] == [
        f"workload identity federation {federated.client_id} ({federated.issuer}) revoked"
    ]


def test_only_the_issuer_format_changing_keeps_the_federation(organization, federated):
    org_services.set_sso_issuer(
        organization, f"https://login.microsoftonline.com/{factories.TENANT_A}/v2.0", actor=None
    )

    assert OAuthClient.objects.get(pk=federated.pk).is_active


def test_client_credentials_clients_survive_an_identity_provider_change(organization):
    secret_client, _ = factories.make_oauth_client(organization)

    org_services.set_sso_issuer(organization, NEW_TENANT_ISSUER, actor=None)

    assert OAuthClient.objects.get(pk=secret_client.pk).is_active


def test_workload_identity_is_refused_for_an_okta_organization_with_the_reason(
    organization, issuer
):
    org_services.set_sso_issuer(
        organization, "http://www.okta.com/exk1fcia6d6EMsf331d8", kind="okta", actor=None
    )
    with pytest.raises(ProvisioningError, match="signs in through Okta, not Microsoft Entra ID"):
        oauth.configure_workload_identity(
            organization,
            issuer=issuer.issuer(factories.TENANT_A),
            subject=SUBJECT,
            audience=AUDIENCE,
            actor=None,
        )
