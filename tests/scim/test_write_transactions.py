"""Parallel SCIM writes on whichever database the suite runs on (SQLite by default).

On SQLite a transaction that reads before it writes fails at once with "database is locked"
when another writer got there first; ``scim.views.write_transaction`` begins write requests
IMMEDIATE so they queue instead. PostgreSQL's row locks are covered in test_concurrency.
"""

from __future__ import annotations

import pytest

from scim.models import GroupMembership, ScimUser

from .conftest import ScimClient, bulk_users, make_group
from .test_concurrency import run_in_parallel

pytestmark = pytest.mark.django_db(transaction=True)


def test_parallel_member_adds_all_succeed(scim):
    users = bulk_users(scim.organization, 40)
    group = make_group(scim.organization, "Everyone")
    calls = [
        lambda client, batch=users[n::4]: client.patch_ops(
            f"/Groups/{group.scim_id}",
            {"op": "add", "path": "members", "value": [{"value": str(u.scim_id)} for u in batch]},
        )
        for n in range(4)
    ]

    assert run_in_parallel(scim, calls) == [204] * 4
    assert GroupMembership.objects.filter(group=group).count() == 40


def test_parallel_writes_of_two_organizations_all_succeed(scim, other_scim):
    def mine(client):
        return client.post("/Users", {"userName": "same@example.com"})

    def theirs(client):
        return client.post("/Users", {"userName": "same@example.com"})

    theirs.client = ScimClient.in_process(other_scim.organization, other_scim.token)

    assert run_in_parallel(scim, [mine, theirs]) == [201, 201]
    assert set(ScimUser.objects.values_list("organization", flat=True)) == {
        scim.organization.pk,
        other_scim.organization.pk,
    }
