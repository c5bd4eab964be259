"""The data migration that makes every existing organization an Entra ID connection."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("organizations", "0004_move_oauth_to_its_app")]
AFTER = [("organizations", "0005_identity_provider_connection")]
TENANT = uuid.UUID("7c1f4d2a-1b3e-4f5a-9c8d-2e6f7a8b9c0d")


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.fixture
def old_schema():
    """The database as it was before the migration; put back to the latest schema after."""
    apps = migrate(BEFORE)
    yield apps
    apps = migrate(AFTER)
    apps.get_model("organizations", "Organization").objects.all().delete()
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


def _organization(apps, slug, **fields):
    return apps.get_model("organizations", "Organization").objects.create(
        name=slug, slug=slug, **fields
    )


@pytest.mark.django_db(transaction=True)
def test_an_organization_with_an_entra_tenant_becomes_an_entra_connection_with_its_issuer(
    old_schema,
):
    _organization(old_schema, "riverside", sso_tenant_id=TENANT, sso_issuer_format="v2")

    apps = migrate(AFTER)

    organization = apps.get_model("organizations", "Organization").objects.get()
    assert (organization.idp_kind, organization.sso_issuer, organization.sso_tenant_id) == (
        "entra",
        f"https://login.microsoftonline.com/{TENANT}/v2.0",
        TENANT,
    )


@pytest.mark.django_db(transaction=True)
def test_a_provisioned_organization_keeps_provisioning_under_the_new_constraint(old_schema):
    _organization(
        old_schema,
        "riverside",
        sso_tenant_id=TENANT,
        sso_issuer_format="v1",
        provisioning_enabled=True,
    )

    apps = migrate(AFTER)

    organization = apps.get_model("organizations", "Organization").objects.get()
    assert (organization.provisioning_enabled, organization.sso_issuer) == (
        True,
        f"https://sts.windows.net/{TENANT}/",
    )


@pytest.mark.django_db(transaction=True)
def test_an_organization_without_an_issuer_becomes_an_unset_entra_connection(old_schema):
    _organization(old_schema, "lakeside")

    apps = migrate(AFTER)

    organization = apps.get_model("organizations", "Organization").objects.get()
    assert (organization.idp_kind, organization.sso_issuer) == ("entra", "")
