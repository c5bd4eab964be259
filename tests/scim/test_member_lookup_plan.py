"""A PATCH's member ids are looked up with one index probe each, whatever the tenant's size.

Left to choose, PostgreSQL's planner prices a scan of every user of the tenant as cheaper than
1,000 probes of the ``scim_id`` index, and the lookup of a big PATCH took five to ten times
longer (scim.services._users_with_ids). Timing is for ``bench/``; here the plan is checked.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from scim.models import GroupMembership

from .conftest import bulk_users, make_group, statistics_of_a_nearly_empty_table

pytestmark = pytest.mark.postgres_only


def _plan_of_the_member_lookup(scim, group, added) -> str:
    """Add ``added`` to ``group`` by PATCH, check they became members, and answer the plan of
    the statement that looked their ids up."""
    with CaptureQueriesContext(connection) as captured:
        response = scim.patch_ops(
            f"/Groups/{group.scim_id}",
            {"op": "add", "path": "members", "value": [{"value": str(u.scim_id)} for u in added]},
        )

    assert response.status_code == 204
    assert GroupMembership.objects.filter(group=group).count() == len(added)
    lookup = next(
        query["sql"]
        for query in captured.captured_queries
        if str(added[0].scim_id) in query["sql"] and "scim_scimuser" in query["sql"]
    )
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN {lookup}")
        return "\n".join(row[0] for row in cursor.fetchall())


def test_adding_1000_members_probes_the_user_index_once_per_id_instead_of_scanning_the_tenant(
    scim,
):
    users = bulk_users(scim.organization, 5_000)
    group = make_group(scim.organization, "Everyone")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE scim_scimuser")

    plan = _plan_of_the_member_lookup(scim, group, users[:1_000])

    assert "Index Scan using scim_scimuser_scim_id_key" in plan, plan
    assert "Seq Scan on scim_scimuser" not in plan, plan


def test_member_ids_are_probed_one_by_one_even_without_statistics_of_the_users_table(scim):
    """Without statistics (a new database, autovacuum off) the planner priced an index led by
    ``organization_id`` the same as the ``scim_id`` probe, and could read the whole tenant once
    per id (README, "Issue 21, fifteenth round")."""
    users = bulk_users(scim.organization, 1_200)
    group = make_group(scim.organization, "Everyone")
    statistics_of_a_nearly_empty_table("scim_scimuser")

    plan = _plan_of_the_member_lookup(scim, group, users[:300])

    assert "Index Scan using scim_scimuser_scim_id_key" in plan, plan
    assert "Index Cond: (organization_id" not in plan, plan
