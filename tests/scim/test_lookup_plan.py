"""A ``userName eq`` lookup probes the unique index while PostgreSQL has no statistics yet.

Azure and Okta send one such lookup per user per cycle. Read as a page in ``pk`` order, it let
the planner walk the organization's rows in that order and test each against the filter: with
no column statistics (a new database, or tables analyzed while empty) it expects a handful of
rows per organization, and avoiding a sort of them looked cheaper than the unique index. Every
lookup was then a scan of the tenant. Read unordered, the unique index is the cheapest plan.
Timing is for ``bench/``; here the plan and the answers are checked.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from scim.models import ScimGroup

from .conftest import bulk_users

pytestmark = pytest.mark.postgres_only


def _plan(sql: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN {sql}")
        return "\n".join(row[0] for row in cursor.fetchall())


def _no_column_statistics() -> None:
    """What PostgreSQL knows of a new database: the tables were analyzed while empty, so it
    has no column statistics and guesses how many rows an organization has."""
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE scim_scimuser, scim_scimgroup")


def _lookup_statement(captured: CaptureQueriesContext, table: str) -> str:
    return next(
        query["sql"] for query in captured.captured_queries if f'FROM "{table}"' in query["sql"]
    )


def test_user_name_lookup_probes_the_unique_index_instead_of_scanning_the_tenant(scim):
    _no_column_statistics()
    bulk_users(scim.organization, 3_000)

    with CaptureQueriesContext(connection) as captured:
        response = scim.get("/Users", params={"filter": 'userName eq "user2999@example.com"'})

    assert response.status_code == 200
    body = response.json()
    assert body["totalResults"] == 1
    assert [user["userName"] for user in body["Resources"]] == ["user2999@example.com"]
    plan = _plan(_lookup_statement(captured, "scim_scimuser"))
    assert "scim_user_name_key_unique" in plan, plan
    assert "scim_user_org_page" not in plan, plan


def test_display_name_lookup_probes_the_unique_index_instead_of_scanning_the_tenant(scim):
    _no_column_statistics()
    ScimGroup.objects.bulk_create(
        ScimGroup(organization=scim.organization, display_name=f"Group {n}") for n in range(3_000)
    )

    with CaptureQueriesContext(connection) as captured:
        response = scim.get(
            "/Groups",
            params={"filter": 'displayName eq "Group 2999"', "excludedAttributes": "members"},
        )

    assert response.status_code == 200
    assert [group["displayName"] for group in response.json()["Resources"]] == ["Group 2999"]
    plan = _plan(_lookup_statement(captured, "scim_scimgroup"))
    assert "scim_group_display_name_key_unique" in plan, plan
    assert "scim_group_org_page" not in plan, plan
