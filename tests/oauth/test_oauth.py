"""OAuth credentials: the service rules, the commands, the admin pages, the access-token lookup.

The protocol itself (token endpoint, assertions, SCIM with access tokens) is exercised over
gunicorn in ``tests/e2e/test_oauth_client_credentials.py`` and ``test_workload_identity.py``.
"""

from __future__ import annotations

import base64
import json
import re
from datetime import timedelta
from io import StringIO
from urllib.parse import urlencode

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django.utils import timezone

from core import tokens
from core.credentials import authenticate_bearer
from oauth import services as oauth
from oauth.models import OAuthAccessToken, OAuthClient, OAuthClientSecret
from organizations import services
from organizations.models import AuditRecord
from organizations.services import ProvisioningError
from tests import factories

V2_ISSUER = f"https://login.microsoftonline.com/{factories.TENANT_A}/v2.0"
SECRET = re.compile(r"\bk2o_[0-9A-Za-z]{12}_[0-9A-Za-z]{38}\b")


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def access_token_for(client: OAuthClient) -> str:
    secret = client.secrets.active().first()
    _, plaintext, _ = oauth.issue_access_token(client, client_secret=secret)
    return plaintext


# -- services ----------------------------------------------------------------------------


def test_client_secret_is_stored_only_as_a_peppered_hash(organization, settings):
    client, plaintext = factories.make_oauth_client(organization)
    secret = client.secrets.get()
    assert plaintext not in json.dumps(list(OAuthClientSecret.objects.values()), default=str)
    assert secret.digest == tokens.hash_token(plaintext, settings.TOKEN_PEPPER)
    assert oauth.check_client_secret(client, plaintext).secret == secret


def test_secret_expiry_must_be_one_to_three_years(organization):
    for days in (364, 1096):
        with pytest.raises(ProvisioningError, match="365 to 1095 days"):
            factories.make_oauth_client(organization, expires_days=days)


def test_a_client_has_at_most_two_active_secrets(organization):
    client, _ = factories.make_oauth_client(organization)
    oauth.rotate_client_secret(client, actor=None, grace_days=7)
    with pytest.raises(ProvisioningError, match="already has 2 active secrets"):
        oauth.rotate_client_secret(client, actor=None, grace_days=7)


def test_rotation_sets_the_old_secret_to_lapse_after_the_grace(organization):
    client, _ = factories.make_oauth_client(organization)
    old = client.secrets.get()
    oauth.rotate_client_secret(client, actor=None, grace_days=3)
    old.refresh_from_db()
    assert abs(old.expires_at - (timezone.now() + timedelta(days=3))) < timedelta(minutes=1)


def test_every_change_leaves_an_audit_record_without_secrets(organization, issuer_host):
    client, plaintext = factories.make_oauth_client(organization)
    _, rotated = oauth.rotate_client_secret(client, actor=None)
    oauth.revoke_oauth_client(client, actor=None)
    oauth.configure_workload_identity(
        organization, issuer=V2_ISSUER, subject="s", audience="api://a", actor=None
    )
    actions = list(
        AuditRecord.objects.filter(organization=organization).values_list("action", flat=True)
    )
    assert {
        "oauth_client_issued",
        "client_secret_rotated",
        "oauth_client_revoked",
        "workload_identity_configured",
    } <= set(actions)
    details = json.dumps(list(AuditRecord.objects.values("detail")))
    assert plaintext not in details and rotated not in details


@pytest.fixture
def issuer_host(settings):
    settings.ENTRA_AUTHORITY_HOST = "https://login.microsoftonline.com"


def test_workload_identity_issuer_must_be_the_organizations_own_tenant(organization, issuer_host):
    other_tenant = f"https://login.microsoftonline.com/{factories.TENANT_B}/v2.0"
    with pytest.raises(ProvisioningError, match="signs in through tenant"):
        oauth.configure_workload_identity(
            organization, issuer=other_tenant, subject="s", audience="api://a", actor=None
        )


def test_workload_identity_issuer_must_be_an_entra_issuer(organization, issuer_host):
    with pytest.raises(ProvisioningError, match="must read"):
        oauth.configure_workload_identity(
            organization,
            issuer=f"https://issuer.example/{factories.TENANT_A}/v2.0",
            subject="s",
            audience="api://a",
            actor=None,
        )


@pytest.mark.parametrize(
    "pasted",
    [
        # Microsoft's setup guide: "https://login.microsoftonline.com/<tenantId>", no /v2.0.
        f"https://login.microsoftonline.com/{factories.TENANT_A}",
        f"https://sts.windows.net/{factories.TENANT_A}/",
        V2_ISSUER,
    ],
)
def test_workload_identity_issuer_is_stored_as_the_tenants_v2_issuer(
    organization, issuer_host, pasted
):
    client = oauth.configure_workload_identity(
        organization, issuer=pasted, subject="s", audience="a", actor=None
    )
    assert client.issuer == V2_ISSUER


def test_reconfiguring_keeps_the_client_id_and_revokes_earlier_access_tokens(
    organization, issuer_host
):
    first = oauth.configure_workload_identity(
        organization, issuer=V2_ISSUER, subject="s", audience="api://a", actor=None
    )
    token = access_token_for(first)
    second = oauth.configure_workload_identity(
        organization, issuer=V2_ISSUER, subject="t", audience="api://a", actor=None
    )
    assert second.client_id == first.client_id
    assert authenticate_bearer(str(organization.public_id), token) is None


# -- authenticate_bearer with access tokens ----------------------------------------------


def test_access_token_authenticates_as_its_client_and_organization(organization):
    client, _ = factories.make_oauth_client(organization, label="Entra prod")
    credential = authenticate_bearer(str(organization.public_id), access_token_for(client))
    assert credential.organization == organization
    assert credential.kind == "oauth_client"
    assert credential.public_id == client.client_id
    assert credential.token is None


def test_access_token_of_another_organization_is_refused(organization, other_organization):
    client, _ = factories.make_oauth_client(other_organization)
    assert authenticate_bearer(str(organization.public_id), access_token_for(client)) is None


def test_expired_access_token_is_refused(organization):
    client, _ = factories.make_oauth_client(organization)
    token = access_token_for(client)
    OAuthAccessToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert authenticate_bearer(str(organization.public_id), token) is None


def test_access_token_stops_with_provisioning_and_works_again_when_enabled(organization):
    client, _ = factories.make_oauth_client(organization)
    token = access_token_for(client)
    services.disable_provisioning_for(organization, actor=None)
    assert authenticate_bearer(str(organization.public_id), token) is None
    services.enable_provisioning_for(organization, actor=None)
    assert authenticate_bearer(str(organization.public_id), token) is not None


def test_access_token_lookup_is_one_query(organization, django_assert_max_num_queries):
    client, _ = factories.make_oauth_client(organization)
    token = access_token_for(client)
    # The first use records last_used_at; later ones within the resolution do not.
    authenticate_bearer(str(organization.public_id), token)
    with django_assert_max_num_queries(1):
        assert authenticate_bearer(str(organization.public_id), token) is not None


def test_a_tampered_access_token_is_refused_without_a_query(
    organization, django_assert_num_queries
):
    client, _ = factories.make_oauth_client(organization)
    token = access_token_for(client)
    with django_assert_num_queries(0):
        assert (
            authenticate_bearer(
                str(organization.public_id), token[:-1] + ("y" if token.endswith("x") else "x")
            )
            is None
        )


# -- commands ----------------------------------------------------------------------------


def test_issue_oauth_client_prints_what_entra_needs_as_json(organization):
    values = json.loads(run("issue_oauth_client", organization.slug, "--label", "Entra", "--json"))
    assert {"token_endpoint", "client_id", "client_secret", "tenant_url", "expires_at"} <= set(
        values
    )
    assert (
        values["token_endpoint"]
        == f"https://provisioning.kno2.test/oauth/{organization.public_id}/token"
    )
    assert values["tenant_url"] == organization.scim_base_url
    client = OAuthClient.objects.get(client_id=values["client_id"])
    assert oauth.check_client_secret(client, values["client_secret"]).secret is not None


def test_revoke_oauth_client_stops_its_access_tokens(organization):
    client, _ = factories.make_oauth_client(organization)
    token = access_token_for(client)
    run("revoke_oauth_client", client.client_id)
    assert authenticate_bearer(str(organization.public_id), token) is None


def test_revoke_oauth_client_names_an_unknown_id(db):
    with pytest.raises(CommandError, match="No OAuth client"):
        run("revoke_oauth_client", "k2c_nothing")


def test_configure_workload_identity_prints_json(organization, issuer_host):
    values = json.loads(
        run(
            "configure_workload_identity",
            organization.slug,
            "--issuer",
            V2_ISSUER,
            "--subject",
            "obj-id",
            "--audience",
            "api://app",
            "--json",
        )
    )
    assert {"token_endpoint", "client_id", "tenant_url"} <= set(values)
    client = OAuthClient.objects.get(client_id=values["client_id"])
    assert (client.kind, client.subject, client.audience) == (
        "workload_identity",
        "obj-id",
        "api://app",
    )


def test_configure_workload_identity_refuses_another_tenant(organization, issuer_host):
    with pytest.raises(CommandError, match="signs in through tenant"):
        run(
            "configure_workload_identity",
            organization.slug,
            "--issuer",
            f"https://login.microsoftonline.com/{factories.TENANT_B}/v2.0",
            "--subject",
            "s",
            "--audience",
            "api://a",
        )


# -- admin -------------------------------------------------------------------------------


@pytest.fixture
def staff_client(client, staff_user):
    factories.staff_sign_in(client, staff_user)
    return client


def _url(name: str, *args) -> str:
    return reverse(f"admin:organizations_organization_{name}", args=args)


def test_admin_shows_the_entra_form_values_and_the_secret_once(staff_client, organization):
    response = staff_client.post(
        _url("issue_oauth_client", organization.pk),
        {"label": "Entra", "expires_days": "730"},
        follow=True,
    )
    page = response.content.decode()
    client = OAuthClient.objects.get(organization=organization)
    secret = SECRET.search(page)[0]
    assert oauth.check_client_secret(client, secret).secret is not None
    for value in (
        organization.scim_base_url,
        oauth.token_endpoint_url(organization),
        client.client_id,
        "client_secret_basic",
        "client_secret_post",
    ):
        assert value in page
    assert page.count('data-copy="') == 4
    again = staff_client.get(response.redirect_chain[-1][0]).content.decode()
    assert SECRET.search(again) is None
    assert 'id="secret-gone"' in again


def test_admin_rotates_and_revokes_a_client(staff_client, organization):
    client, _ = factories.make_oauth_client(organization)
    response = staff_client.post(
        _url("rotate_client_secret", organization.pk, client.pk),
        {"expires_days": "365"},
        follow=True,
    )
    assert SECRET.search(response.content.decode()) is not None
    assert client.secrets.active().count() == 2
    staff_client.post(_url("revoke_oauth_client", organization.pk, client.pk))
    client.refresh_from_db()
    assert client.revoked_at is not None


def test_admin_configures_workload_identity_and_explains_a_wrong_tenant(
    staff_client, organization, issuer_host
):
    url = _url("workload_identity", organization.pk)
    assert V2_ISSUER in staff_client.get(url).content.decode()
    wrong = f"https://login.microsoftonline.com/{factories.TENANT_B}/v2.0"
    response = staff_client.post(url, {"issuer": wrong, "subject": "s", "audience": "api://a"})
    assert "signs in through tenant" in response.content.decode()
    response = staff_client.post(
        url, {"issuer": V2_ISSUER, "subject": "s", "audience": "api://a"}, follow=True
    )
    client = OAuthClient.objects.get(organization=organization, kind="workload_identity")
    assert client.client_id in response.content.decode()


def test_admin_pages_of_another_organizations_client_are_404(
    staff_client, organization, other_organization
):
    client, _ = factories.make_oauth_client(other_organization)
    response = staff_client.get(_url("oauth_client", organization.pk, client.pk))
    assert response.status_code == 404


# -- rate limits (the test client: the limits are per process here) -------------------------


def _token_request(client, organization, form):
    return client.post(
        f"/oauth/{organization.public_id}/token",
        urlencode(form),
        content_type="application/x-www-form-urlencoded",
    )


def test_failed_token_requests_from_one_address_are_slowed_down(settings, client, organization):
    settings.OAUTH_TOKEN_FAILURE_RATE = "3/5m"
    oauth_client, secret = factories.make_oauth_client(organization)
    bad = {
        "grant_type": "client_credentials",
        "client_id": oauth_client.client_id,
        "client_secret": "wrong",
    }
    statuses = [_token_request(client, organization, bad).status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429]
    good = {**bad, "client_secret": secret}
    response = _token_request(client, organization, good)
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0


def test_token_requests_per_client_are_limited(settings, client, organization):
    settings.OAUTH_TOKEN_RATE_LIMIT = "2/10m"
    oauth_client, secret = factories.make_oauth_client(organization)
    good = {
        "grant_type": "client_credentials",
        "client_id": oauth_client.client_id,
        "client_secret": secret,
    }
    statuses = [_token_request(client, organization, good).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    other, other_secret = factories.make_oauth_client(organization)
    assert (
        _token_request(
            client,
            organization,
            {
                **good,
                "client_id": other.client_id,
                "client_secret": other_secret,
            },
        ).status_code
        == 200
    )


def test_a_token_request_runs_a_bounded_number_of_queries(
    client, organization, django_assert_max_num_queries
):
    oauth_client, secret = factories.make_oauth_client(organization)
    form = {
        "grant_type": "client_credentials",
        "client_id": oauth_client.client_id,
        "client_secret": secret,
    }
    assert _token_request(client, organization, form).status_code == 200
    with django_assert_max_num_queries(8):
        assert _token_request(client, organization, form).status_code == 200


def test_wrong_secrets_do_not_spend_a_clients_budget(settings, client, organization):
    settings.OAUTH_TOKEN_RATE_LIMIT = "2/10m"
    oauth_client, secret = factories.make_oauth_client(organization)
    bad = {
        "grant_type": "client_credentials",
        "client_id": oauth_client.client_id,
        "client_secret": "wrong",
    }
    for _ in range(3):
        assert _token_request(client, organization, bad).status_code == 401
    good = {**bad, "client_secret": secret}
    assert _token_request(client, organization, good).status_code == 200


# -- the secret part of a secret is checked, not only its key -------------------------------


def test_a_client_secret_with_the_right_key_and_a_wrong_secret_part_gets_no_token(
    client, organization
):
    oauth_client, secret = factories.make_oauth_client(organization)
    form = {
        "grant_type": "client_credentials",
        "client_id": oauth_client.client_id,
        "client_secret": factories.same_key_wrong_secret(secret),
    }

    response = _token_request(client, organization, form)

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert not OAuthAccessToken.objects.exists()


def test_an_access_token_with_the_right_key_and_a_wrong_secret_part_is_refused_by_scim(
    client, organization
):
    oauth_client, _ = factories.make_oauth_client(organization)
    forged = factories.same_key_wrong_secret(access_token_for(oauth_client))

    response = client.get(
        f"/scim/v2/{organization.public_id}/Users", HTTP_AUTHORIZATION=f"Bearer {forged}"
    )

    assert response.status_code == 401


# -- the access token lives exactly OAUTH_ACCESS_TOKEN_LIFETIME_SECONDS -----------------------


def test_an_access_token_lives_exactly_the_configured_number_of_seconds(
    settings, client, organization
):
    settings.OAUTH_ACCESS_TOKEN_LIFETIME_SECONDS = 5400
    oauth_client, secret = factories.make_oauth_client(organization)
    form = {
        "grant_type": "client_credentials",
        "client_id": oauth_client.client_id,
        "client_secret": secret,
    }

    response = _token_request(client, organization, form)

    assert response.status_code == 200
    assert response.json()["expires_in"] == 5400
    row = OAuthAccessToken.objects.get()
    assert row.expires_at - row.created_at == timedelta(seconds=5400)


# -- a refused token request's history names the client, never what was presented ------------


def test_a_refused_token_request_records_the_clients_label_not_the_authorization_header(
    client, organization
):
    from portal.models import SyncEvent

    oauth_client, secret = factories.make_oauth_client(organization, label="Entra prod")
    oauth.revoke_oauth_client(oauth_client, actor=None)
    basic = base64.b64encode(f"{oauth_client.client_id}:{secret}".encode()).decode()
    authorization = f"Basic {basic}"

    response = client.post(
        f"/oauth/{organization.public_id}/token",
        "grant_type=client_credentials",
        content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION=authorization,
    )

    assert response.status_code == 401
    event = SyncEvent.objects.get(organization=organization)
    assert event.token_label == "Entra prod"
    stored = json.dumps(list(SyncEvent.objects.values()), default=str)
    secret_part = tokens.parse_token(secret, oauth.SECRET_PREFIX).token[-38:]
    assert basic not in stored
    assert secret_part not in stored


def _basic_token_request(client, organization, credentials: bytes):
    return client.post(
        f"/oauth/{organization.public_id}/token",
        "grant_type=client_credentials",
        content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION="Basic " + base64.b64encode(credentials).decode(),
    )


def test_basic_credentials_that_are_not_utf8_are_refused_like_a_wrong_secret(client, organization):
    oauth_client, _ = factories.make_oauth_client(organization)
    wrong = _basic_token_request(client, organization, f"{oauth_client.client_id}:wrong".encode())
    garbled = _basic_token_request(client, organization, b"\xff\xfe:\xc3\x28")
    assert (garbled.status_code, garbled.json()) == (401, wrong.json())
    assert wrong.json() == {
        "error": "invalid_client",
        "error_description": "Client authentication failed.",
    }


def test_basic_credentials_that_are_not_base64_are_refused_like_an_unknown_client(
    client, organization
):
    unknown = _basic_token_request(client, organization, b"k2c_unknown:whatever")
    response = client.post(
        f"/oauth/{organization.public_id}/token",
        "grant_type=client_credentials",
        content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION="Basic !!!not-base64!!!",
    )
    assert (response.status_code, response.json()) == (401, unknown.json())


def test_garbled_basic_credentials_count_as_failed_token_requests(settings, client, organization):
    settings.OAUTH_TOKEN_FAILURE_RATE = "2/5m"
    statuses = [
        _basic_token_request(client, organization, b"\xff\xfe:\xc3\x28").status_code
        for _ in range(3)
    ]
    assert statuses == [401, 401, 429]


def test_configure_workload_identity_help_names_the_entra_fields_to_paste():
    from oauth.management.commands.configure_workload_identity import Command

    text = " ".join(
        Command().create_parser("manage.py", "configure_workload_identity").format_help().split()
    )
    assert "Directory (tenant) ID" in text
    assert "Managed application in local directory > Object ID" in text
    assert "Application (client) ID, a bare GUID" in text
