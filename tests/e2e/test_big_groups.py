"""Large groups over real HTTP: what Entra does to a big group loses nothing
(docs/azure-scim-client.md §3.10).

How fast it is belongs to ``bench/azure_load.py``, not to a timed test. The users are inserted
directly so the test spends its time on the requests under test.
"""

from __future__ import annotations

import pytest

from scim.models import ScimUser
from tests.schemas import PATCH_OP
from tests.scim_client import assert_list_response, describe

pytestmark = pytest.mark.django_db(transaction=True)

SIZE = 1000


def patch_members(scim, group_id: str, *operations: dict):
    return scim.patch(
        f"/Groups/{group_id}", {"schemas": [PATCH_OP], "Operations": list(operations)}
    )


def test_thousand_members_added_and_removed_in_single_operations(scim, other_scim, organization):
    users = ScimUser.objects.bulk_create(
        ScimUser(organization=organization, user_name=f"user{n:04d}@riverside.test")
        for n in range(2 * SIZE)
    )
    ids = [str(user.scim_id) for user in users]
    group = scim.create_group("Whole Hospital")

    response = patch_members(
        scim,
        group["id"],
        {"op": "Add", "path": "members", "value": [{"value": uid} for uid in ids[:SIZE]]},
    )
    assert response.status_code == 204, describe(response)
    response = patch_members(
        scim,
        group["id"],
        {"op": "Add", "path": "members", "value": [{"value": uid} for uid in ids[SIZE:]]},
        {"op": "Remove", "path": "members", "value": [{"value": uid} for uid in ids[:SIZE]]},
    )
    assert response.status_code == 204, describe(response)

    light = scim.read(f"/Groups/{group['id']}?excludedAttributes=members")
    assert "members" not in light
    assert scim.member_ids(group["id"]) == set(ids[SIZE:])
    found = assert_list_response(
        scim.get("/Groups?excludedAttributes=members&filter=displayName+eq+%22whole+hospital%22")
    )
    assert [(g["id"], "members" in g) for g in found["Resources"]] == [(group["id"], False)]
    assert assert_list_response(other_scim.get("/Groups"))["totalResults"] == 0


def test_pages_are_capped_at_max_results_and_stable_while_users_arrive(scim, organization):
    """RFC 7644 §3.4.2.4: ``count`` above ``filter.maxResults`` is capped; the order is stable,
    so a user created between two page reads neither repeats nor hides another."""
    max_results = scim.read("/ServiceProviderConfig")["filter"]["maxResults"]
    ScimUser.objects.bulk_create(
        ScimUser(organization=organization, user_name=f"page{n:04d}@riverside.test")
        for n in range(max_results + 20)
    )

    first = assert_list_response(scim.get(f"/Users?startIndex=1&count={max_results + 50}"))
    assert first["totalResults"] == max_results + 20
    assert len(first["Resources"]) == first["itemsPerPage"] == max_results
    scim.create_user("late.arrival@riverside.test")
    second = assert_list_response(scim.get(f"/Users?startIndex={max_results + 1}&count=50"))

    ids = [u["id"] for u in first["Resources"] + second["Resources"]]
    assert len(ids) == len(set(ids)) == max_results + 21
    assert second["Resources"][-1]["userName"] == "late.arrival@riverside.test"
