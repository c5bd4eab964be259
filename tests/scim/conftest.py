"""Fixtures for SCIM tests: ``tests.scim_client.ScimClient`` in process, bound to one
organization's tenant URL and its token, and factories that go through the services."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection

from organizations.models import Organization
from scim import documents, services
from scim.models import ScimGroup, ScimUser
from tests import factories
from tests.scim_client import ScimClient


@pytest.fixture
def scim(organization, token) -> ScimClient:
    """A SCIM client for ``organization`` carrying its active token."""
    return ScimClient.in_process(organization, token[1])


@pytest.fixture
def other_scim(other_organization) -> ScimClient:
    """A SCIM client for ``other_organization`` carrying that organization's own token."""
    _, plaintext = factories.make_token(other_organization)
    return ScimClient.in_process(other_organization, plaintext)


def make_user(organization: Organization, user_name: str, **attributes: Any) -> ScimUser:
    """A user created through the service layer, as a SCIM POST would."""
    return services.create_user(
        organization, documents.clean_user({"userName": user_name, **attributes})
    )


def make_group(
    organization: Organization, display_name: str, members: list[ScimUser] = (), **attributes: Any
) -> ScimGroup:
    document = documents.clean_group(
        {
            "displayName": display_name,
            "members": [{"value": str(user.scim_id)} for user in members],
            **attributes,
        }
    )
    group, _ = services.create_group(organization, document)
    return group


def bulk_users(organization: Organization, count: int, prefix: str = "user") -> list[ScimUser]:
    """``count`` users in one insert: setup for query-count tests, not a behaviour under test."""
    users = [
        ScimUser(
            organization=organization,
            user_name=f"{prefix}{n}@example.com",
            work_email=f"{prefix}{n}@example.com",
            attributes={
                "emails": [{"value": f"{prefix}{n}@example.com", "type": "work", "primary": True}]
            },
        )
        for n in range(count)
    ]
    ScimUser.objects.bulk_create(users, batch_size=500)
    return list(ScimUser.objects.filter(organization=organization, user_name__startswith=prefix))


def statistics_of_a_nearly_empty_table(table: str) -> None:
    """Give ``table`` the statistics of a table analyzed when it was nearly empty, or never
    (a new database, autovacuum off), for this test's transaction only: no column statistics
    and about 100 rows. The planner then expects an equality on ``organization_id`` to match
    a single row, as the ``scim_id`` probe does, and the two tie. Writes the catalogs, so it
    needs a superuser, as the tests' ``postgres`` is."""
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM pg_statistic WHERE starelid = %s::regclass", [table])
        cursor.execute(
            "UPDATE pg_class SET reltuples = 100, "
            "relpages = greatest(1, pg_relation_size(oid) / current_setting('block_size')::int) "
            "WHERE oid = %s::regclass",
            [table],
        )
