"""Large groups over real HTTP: what Entra does to a big group must finish well inside its
60-second response limit (reference §1.5) and lose nothing (reference §3.10).

The users are inserted directly so the test spends its time on the requests under test.
"""

from __future__ import annotations

import time

import pytest

from scim.models import ScimUser

from .client import PATCH_OP, assert_list_response, describe

pytestmark = pytest.mark.django_db(transaction=True)

SIZE = 1000
# Generous on a loaded 2-core CI box; Entra gives up after 60 s.
SECONDS = 15


def patch_members(scim, group_id: str, *operations: dict):
    started = time.monotonic()
    response = scim.patch(f"/Groups/{group_id}", {"schemas": [PATCH_OP],
                                                  "Operations": list(operations)})
    return response, time.monotonic() - started


def test_thousand_members_added_and_removed_in_single_operations(scim, other_scim,
                                                                  organization):
    users = ScimUser.objects.bulk_create(
        ScimUser(organization=organization, user_name=f"user{n:04d}@riverside.test")
        for n in range(2 * SIZE))
    ids = [str(user.scim_id) for user in users]
    group = scim.create_group("Whole Hospital")

    response, seconds = patch_members(scim, group["id"], {
        "op": "Add", "path": "members", "value": [{"value": uid} for uid in ids[:SIZE]]})
    assert response.status_code == 204, describe(response)
    assert seconds < SECONDS
    response, seconds = patch_members(
        scim, group["id"],
        {"op": "Add", "path": "members", "value": [{"value": uid} for uid in ids[SIZE:]]},
        {"op": "Remove", "path": "members", "value": [{"value": uid} for uid in ids[:SIZE]]})
    assert response.status_code == 204, describe(response)
    assert seconds < SECONDS

    started = time.monotonic()
    light = scim.read(f"/Groups/{group['id']}?excludedAttributes=members")
    assert time.monotonic() - started < 2
    assert "members" not in light
    assert scim.member_ids(group["id"]) == set(ids[SIZE:])
    found = assert_list_response(scim.get(
        "/Groups?excludedAttributes=members&filter=displayName+eq+%22whole+hospital%22"))
    assert [(g["id"], "members" in g) for g in found["Resources"]] == [(group["id"], False)]
    assert assert_list_response(other_scim.get("/Groups"))["totalResults"] == 0
