"""The data migration that gives existing users and groups their identity key."""

from __future__ import annotations

import importlib

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("scim", "0003_tenant_page_indexes")]
AFTER = [("scim", "0004_identity_keys")]
identity_migration = importlib.import_module("scim.migrations.0004_identity_keys")


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
    for model in ("ScimUser", "ScimGroup"):
        apps.get_model("scim", model).objects.all().delete()
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


def _organization(apps, slug):
    return apps.get_model("organizations", "Organization").objects.create(name=slug, slug=slug)


@pytest.mark.django_db(transaction=True)
def test_existing_rows_get_their_identity_key(old_schema):
    org = _organization(old_schema, "riverside")
    old_schema.get_model("scim", "ScimUser").objects.create(
        organization=org, user_name="ＡＤＡ@Riverside.example"
    )
    old_schema.get_model("scim", "ScimGroup").objects.create(
        organization=org, display_name="Night \u212aitchen"
    )

    apps = migrate(AFTER)

    assert apps.get_model("scim", "ScimUser").objects.get().user_name_key == "ada@riverside.example"
    assert apps.get_model("scim", "ScimGroup").objects.get().display_name_key == "night kitchen"


@pytest.mark.django_db(transaction=True)
def test_the_migration_refuses_names_that_become_one_and_lists_them(old_schema):
    riverside, lakeside = (
        _organization(old_schema, "riverside"),
        _organization(old_schema, "lakeside"),
    )
    users = old_schema.get_model("scim", "ScimUser").objects
    users.create(organization=riverside, user_name="kate@x.example")
    users.create(organization=riverside, user_name="\u212aate@x.example")  # Kelvin sign
    users.create(organization=lakeside, user_name="kate@x.example")  # another tenant: fine

    with pytest.raises(identity_migration.IdentityCollision) as refused:
        migrate(AFTER)

    message = str(refused.value)
    assert "organization riverside: userNames 'kate@x.example', '\u212aate@x.example'" in message
    assert "lakeside" not in message
    assert ("scim", "0004_identity_keys") not in MigrationExecutor(
        connection
    ).loader.applied_migrations
