"""One provisioning cycle as Microsoft Entra ID drives it, over real HTTP.

Modelled on python-scim/scim2-server ``tests/integration/test_ms_entra.py`` (itself built on
Microsoft's Postman collection), reshaped to the order the Entra provisioning service uses
(reference §3.2, §3.4, §3.6): Test Connection, match by filter, create what is missing, set the
manager in a separate PATCH, create groups empty and add members by PATCH, deactivate, delete.
"""

from __future__ import annotations

import uuid

import pytest

from .client import ENTERPRISE, GROUP, USER, assert_error, assert_list_response, describe

pytestmark = pytest.mark.django_db(transaction=True)


def entra_user(user_name: str, given: str, family: str) -> dict:
    return {
        "schemas": [USER, ENTERPRISE],
        "externalId": str(uuid.uuid4()),
        "userName": user_name,
        "active": True,
        "displayName": f"{given} {family}",
        "emails": [{"primary": True, "type": "work", "value": user_name}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": f"{given} {family}", "familyName": family, "givenName": given},
        "roles": [],
        ENTERPRISE: {"department": "Cardiology", "employeeNumber": "E-100"},
    }


def match_or_create(scim, resource: str, attribute: str, body: dict) -> tuple[str, bool]:
    """What Entra does for each object in scope: query the matching attribute, create on a
    miss, and remember the returned ``id`` for every later operation."""
    params = {"filter": f'{attribute} eq "{body[attribute]}"'}
    if resource == "Groups":
        params = {"excludedAttributes": "members", **params}
    found = assert_list_response(scim.session.get(scim.url(f"/{resource}"), params=params,
                                                  timeout=30))
    if found["totalResults"] == 1:
        return found["Resources"][0]["id"], False
    assert found["totalResults"] == 0, found
    response = scim.post(f"/{resource}", body)
    assert response.status_code == 201, describe(response)
    return response.json()["id"], True


def patch(*operations: dict) -> dict:
    return {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": list(operations)}


def test_entra_provisioning_cycle(scim, other_scim):
    # Test Connection: a random GUID on Users and Groups.
    for resource, attribute in (("Users", "userName"), ("Groups", "displayName")):
        probe = scim.session.get(
            scim.url(f"/{resource}?filter={attribute}+eq+%22{uuid.uuid4()}%22"),
            headers={"Accept": None}, timeout=30)
        assert assert_list_response(probe)["totalResults"] == 0

    # Initial cycle: users are matched by userName and created when missing.
    manager_body = entra_user("ada.manager@riverside.test", "Ada", "Manager")
    report_body = entra_user("bob.report@riverside.test", "Bob", "Report")
    manager_id, created = match_or_create(scim, "Users", "userName", manager_body)
    assert created
    report_id, created = match_or_create(scim, "Users", "userName", report_body)
    assert created
    # A second cycle matches instead of creating, whatever the case Entra sends.
    again = {**manager_body, "userName": manager_body["userName"].upper()}
    assert match_or_create(scim, "Users", "userName", again) == (manager_id, False)
    # The other tenant sees none of it.
    assert other_scim.search("Users", f'userName eq "{manager_body["userName"]}"') == []
    assert_error(other_scim.get(f"/Users/{manager_id}"), 404)

    # The manager reference follows as its own PATCH, after both users exist.
    response = scim.patch(f"/Users/{report_id}", patch({
        "op": "Add", "path": "manager",
        "value": [{"$ref": f"{scim.base}/Users/{manager_id}", "value": manager_id}]}))
    assert response.status_code in (200, 204), describe(response)
    report = scim.read(f"/Users/{report_id}")
    assert report[ENTERPRISE]["manager"]["value"] == manager_id
    assert report[ENTERPRISE]["department"] == "Cardiology"
    assert report[ENTERPRISE]["employeeNumber"] == "E-100"

    # Groups: matched by displayName, created empty, members added in one PATCH.
    group_body = {"schemas": [GROUP], "externalId": str(uuid.uuid4()),
                  "displayName": "Riverside Nurses", "members": [],
                  "meta": {"resourceType": "Group"}}
    group_id, created = match_or_create(scim, "Groups", "displayName", group_body)
    assert created
    response = scim.patch(f"/Groups/{group_id}", patch({
        "op": "Add", "path": "members",
        "value": [{"$ref": None, "value": manager_id}, {"$ref": None, "value": report_id}]}))
    assert response.status_code == 204, describe(response)
    assert "members" not in scim.read(f"/Groups/{group_id}?excludedAttributes=members")
    assert scim.member_ids(group_id) == {manager_id, report_id}
    # Re-adding an existing member succeeds (RFC 7644 §3.5.2.1) and duplicates nothing.
    response = scim.patch(f"/Groups/{group_id}", patch({
        "op": "Add", "path": "members", "value": [{"value": report_id}]}))
    assert response.status_code == 204, describe(response)
    assert len(scim.read(f"/Groups/{group_id}")["members"]) == 2

    # Incremental cycle: an attribute change, then the report is unassigned and disabled.
    response = scim.patch(f"/Users/{report_id}", patch(
        {"op": "Replace", "path": 'emails[type eq "work"].value',
         "value": "robert.report@riverside.test"},
        {"op": "Replace", "path": "displayName", "value": "Robert Report"}))
    assert response.status_code in (200, 204), describe(response)
    response = scim.patch(f"/Users/{report_id}", patch(
        {"op": "Replace", "path": "active", "value": "False"}))
    assert response.status_code in (200, 204), describe(response)
    [disabled] = scim.search("Users", f'userName eq "{report_body["userName"]}"')
    assert disabled["active"] is False
    assert disabled["displayName"] == "Robert Report"
    assert [e["value"] for e in disabled["emails"]] == ["robert.report@riverside.test"]

    # The manager leaves the group; the report stays in it.
    response = scim.patch(f"/Groups/{group_id}", patch({
        "op": "Remove", "path": "members", "value": [{"$ref": None, "value": manager_id}]}))
    assert response.status_code == 204, describe(response)
    assert scim.member_ids(group_id) == {report_id}

    # Hard delete in Entra: DELETE, after which the user is gone everywhere.
    assert scim.delete(f"/Users/{report_id}").status_code == 204
    assert_error(scim.get(f"/Users/{report_id}"), 404)
    assert scim.member_ids(group_id) == set()
    assert scim.search("Users", 'userName eq "bob.report@riverside.test"') == []

    # Group unassigned: DELETE; the remaining user is untouched.
    assert scim.delete(f"/Groups/{group_id}").status_code == 204
    assert scim.search("Groups", 'displayName eq "Riverside Nurses"') == []
    assert scim.read(f"/Users/{manager_id}")["active"] is True
    assert scim.delete(f"/Users/{manager_id}").status_code == 204
    assert assert_list_response(scim.get("/Users"))["totalResults"] == 0

