"""Moving code into layers moved no data: a database made by the last release keeps working.

The layering moved the OAuth models from ``organizations`` into their own ``oauth`` app (same
tables, ``SeparateDatabaseAndState``), the audit actions into ``core.audit`` and the credential
kinds into ``core.credentials``. These tests build a database at the migrations the release
before it shipped, fill it with the historical models as that release stored rows, migrate it
to today's head, and check that every row is still there and every credential still works.
"""

from __future__ import annotations

import base64
import uuid
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client
from django.utils import timezone

from core import tokens
from core.credentials import authenticate_bearer

# The leaf migrations of the release before the layering (commit cbfb6c1).
RELEASE_BEFORE_LAYERING = [
    ("organizations", "0003_oauth_clients"),
    ("scim", "0005_extension_attributes"),
    ("portal", "0007_token_request_operation"),
    ("directory", "0001_directory_events_and_webhooks"),
    ("sso", "0001_sso_configuration_and_sign_in_log"),
    ("oauth", None),
]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    applied = [target for target in targets if target[1] is not None]
    return executor.loader.project_state(applied).apps


def _migrate_to_head():
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.fixture
def release_database():
    """Historical models at the release before the layering; back to today's head after."""
    apps = _migrate(RELEASE_BEFORE_LAYERING)
    yield apps
    _migrate_to_head()


def _secret(prefix: str) -> tuple[str, str, str]:
    """A plaintext built as the release built it, with its key and stored digest."""
    key = tokens.generate_key()
    plaintext = tokens.build_token(key, prefix=prefix)
    return plaintext, key, tokens.hash_token(plaintext, settings.TOKEN_PEPPER)


def _release_rows(apps) -> dict[str, str]:
    """What a customer had at the release: an organization provisioning through a Secret Token
    and an OAuth client, SSO configured, a sync event and a directory event."""
    organization = apps.get_model("organizations", "Organization").objects.create(
        name="Riverside",
        slug="riverside",
        sso_tenant_id=uuid.UUID("9c2c3a1e-58a4-4b8e-9f1a-2f3b4c5d6e7f"),
        provisioning_enabled=True,
        provisioning_enabled_at=timezone.now(),
    )
    token, token_key, token_digest = _secret("k2p_")
    apps.get_model("organizations", "ProvisioningToken").objects.create(
        organization=organization,
        key=token_key,
        digest=token_digest,
        label="Azure production",
        expires_at=timezone.now() + timedelta(days=300),
    )
    client = apps.get_model("organizations", "OAuthClient").objects.create(
        organization=organization,
        kind="oauth_client",
        client_id="k2c_" + tokens.generate_key(),
        label="Entra app",
    )
    secret, secret_key, secret_digest = _secret("k2o_")
    apps.get_model("organizations", "OAuthClientSecret").objects.create(
        client=client,
        key=secret_key,
        digest=secret_digest,
        expires_at=timezone.now() + timedelta(days=700),
    )
    apps.get_model("organizations", "AuditRecord").objects.create(
        organization=organization, action="token_issued", detail={"token": f"k2p_{token_key}…"}
    )
    apps.get_model("sso", "SsoConfiguration").objects.create(
        organization=organization,
        enabled=True,
        idp_entity_id="https://sts.windows.net/9c2c3a1e-58a4-4b8e-9f1a-2f3b4c5d6e7f/",
        idp_is_entra=True,
        metadata_xml="<EntityDescriptor/>",
    )
    apps.get_model("portal", "SyncEvent").objects.create(
        organization=organization,
        request_id="r-1",
        token_prefix=f"k2p_{token_key}…",
        credential_kind="secret_token",
        method="POST",
        path="/Users",
        operation="create_user",
        status_code=201,
        succeeded=True,
        duration_ms=12.5,
    )
    apps.get_model("directory", "DirectoryEvent").objects.create(
        organization=organization,
        position=1,
        type="user.created",
        resource_type="User",
        resource_id=uuid.uuid4(),
        name="ada@riverside.example",
    )
    return {
        "tenant": str(organization.public_id),
        "token": token,
        "client_id": client.client_id,
        "client_secret": secret,
    }


@pytest.mark.django_db(transaction=True)
def test_every_row_of_the_release_is_there_after_migrating(release_database):
    _release_rows(release_database)

    _migrate_to_head()

    from directory.models import DirectoryEvent
    from oauth.models import OAuthClient, OAuthClientSecret
    from organizations.models import AuditRecord, Organization, ProvisioningToken
    from portal.models import SyncEvent
    from sso.models import SsoConfiguration

    organization = Organization.objects.get(slug="riverside")
    assert organization.provisioning_enabled
    assert ProvisioningToken.objects.get().organization == organization
    client = OAuthClient.objects.get()
    assert (client.organization, client.kind, client.label) == (
        organization,
        "oauth_client",
        "Entra app",
    )
    assert OAuthClientSecret.objects.get().client == client
    assert AuditRecord.objects.get().get_action_display() == "Token issued"
    assert SsoConfiguration.objects.get().organization == organization
    assert SyncEvent.objects.get().credential_kind == "secret_token"
    assert DirectoryEvent.objects.get().name == "ada@riverside.example"


@pytest.mark.django_db(transaction=True)
def test_a_secret_token_of_the_release_still_authenticates(release_database):
    rows = _release_rows(release_database)

    _migrate_to_head()

    credential = authenticate_bearer(rows["tenant"], rows["token"])
    assert credential is not None
    assert (credential.kind, credential.organization.slug) == ("secret_token", "riverside")


@pytest.mark.django_db(transaction=True)
def test_an_oauth_client_of_the_release_still_gets_a_token_that_provisions(release_database):
    rows = _release_rows(release_database)

    _migrate_to_head()

    basic = base64.b64encode(f"{rows['client_id']}:{rows['client_secret']}".encode()).decode()
    answer = Client().post(
        f"/oauth/{rows['tenant']}/token",
        "grant_type=client_credentials",
        content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION=f"Basic {basic}",
    )
    assert answer.status_code == 200, answer.content
    access_token = answer.json()["access_token"]
    users = Client().get(
        f"/scim/v2/{rows['tenant']}/Users", HTTP_AUTHORIZATION=f"Bearer {access_token}"
    )
    assert users.status_code == 200
    assert authenticate_bearer(rows["tenant"], access_token).kind == "oauth_client"
