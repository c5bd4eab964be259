"""One provisioning cycle as Microsoft Entra ID drives it, over real HTTP.

Modelled on python-scim/scim2-server ``tests/integration/test_ms_entra.py`` (itself built on
Microsoft's Postman collection), reshaped to the order the Entra provisioning service uses
(docs/azure-scim-client.md §3.2, §3.4, §3.6): Test Connection, match by filter, create what is
missing, set the manager in a separate PATCH, create groups empty and add members by PATCH,
deactivate, delete.
"""

from __future__ import annotations

import uuid

import pytest

from tests.schemas import ENTERPRISE, GROUP, PATCH_OP, USER
from tests.scim_client import assert_error, assert_list_response, describe

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
    found = assert_list_response(
        scim.session.get(scim.url(f"/{resource}"), params=params, timeout=30)
    )
    if found["totalResults"] == 1:
        return found["Resources"][0]["id"], False
    assert found["totalResults"] == 0, found
    response = scim.post(f"/{resource}", body)
    assert response.status_code == 201, describe(response)
    return response.json()["id"], True


def patch(*operations: dict) -> dict:
    return {"schemas": [PATCH_OP], "Operations": list(operations)}


def test_entra_provisioning_cycle(scim, other_scim):
    # Test Connection: a random GUID on Users and Groups.
    for resource, attribute in (("Users", "userName"), ("Groups", "displayName")):
        probe = scim.session.get(
            scim.url(f"/{resource}?filter={attribute}+eq+%22{uuid.uuid4()}%22"),
            headers={"Accept": None},
            timeout=30,
        )
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
    response = scim.patch(
        f"/Users/{report_id}",
        patch(
            {
                "op": "Add",
                "path": "manager",
                "value": [{"$ref": f"{scim.base}/Users/{manager_id}", "value": manager_id}],
            }
        ),
    )
    assert response.status_code == 200, describe(response)
    report = scim.read(f"/Users/{report_id}")
    assert report[ENTERPRISE]["manager"]["value"] == manager_id
    assert report[ENTERPRISE]["department"] == "Cardiology"
    assert report[ENTERPRISE]["employeeNumber"] == "E-100"

    # Groups: matched by displayName, created empty, members added in one PATCH.
    group_body = {
        "schemas": [GROUP],
        "externalId": str(uuid.uuid4()),
        "displayName": "Riverside Nurses",
        "members": [],
        "meta": {"resourceType": "Group"},
    }
    group_id, created = match_or_create(scim, "Groups", "displayName", group_body)
    assert created
    response = scim.patch(
        f"/Groups/{group_id}",
        patch(
            {
                "op": "Add",
                "path": "members",
                "value": [{"$ref": None, "value": manager_id}, {"$ref": None, "value": report_id}],
            }
        ),
    )
    assert response.status_code == 204, describe(response)
    assert "members" not in scim.read(f"/Groups/{group_id}?excludedAttributes=members")
    assert scim.member_ids(group_id) == {manager_id, report_id}
    # Re-adding an existing member succeeds (RFC 7644 §3.5.2.1) and duplicates nothing.
    response = scim.patch(
        f"/Groups/{group_id}",
        patch({"op": "Add", "path": "members", "value": [{"value": report_id}]}),
    )
    assert response.status_code == 204, describe(response)
    assert len(scim.read(f"/Groups/{group_id}")["members"]) == 2

    # Incremental cycle: an attribute change, then the report is unassigned and disabled.
    response = scim.patch(
        f"/Users/{report_id}",
        patch(
            {
                "op": "Replace",
                "path": 'emails[type eq "work"].value',
                "value": "robert.report@riverside.test",
            },
            {"op": "Replace", "path": "displayName", "value": "Robert Report"},
        ),
    )
    assert response.status_code == 200, describe(response)
    response = scim.patch(
        f"/Users/{report_id}", patch({"op": "Replace", "path": "active", "value": "False"})
    )
    assert response.status_code == 200, describe(response)
    [disabled] = scim.search("Users", f'userName eq "{report_body["userName"]}"')
    assert disabled["active"] is False
    assert disabled["displayName"] == "Robert Report"
    assert [e["value"] for e in disabled["emails"]] == ["robert.report@riverside.test"]

    # The manager leaves the group; the report stays in it.
    response = scim.patch(
        f"/Groups/{group_id}",
        patch({"op": "Remove", "path": "members", "value": [{"$ref": None, "value": manager_id}]}),
    )
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


def test_microsoft_postman_collection_shapes(scim):
    """The request shapes of Microsoft's Postman collection for SCIM endpoints (as replayed by
    scim2-server's ``test_ms_entra.py``): attribute names in any case (RFC 7643 §2.1), PUT with
    the enterprise extension, groups created with members and replaced by PUT."""
    response = scim.post(
        "/Users",
        {
            "UserName": "UserName123",
            "Active": True,
            "DisplayName": "BobIsAmazing",
            "schemas": [USER],
            "externalId": uuid.uuid4().hex,
            "name": {"formatted": "Ryan Leenay", "familyName": "Leenay", "givenName": "Ryan"},
            "emails": [
                {"Primary": True, "type": "work", "value": "testing@bob.com"},
                {"Primary": False, "type": "home", "value": "testinghome@bob.com"},
            ],
        },
    )
    assert response.status_code == 201, describe(response)
    first = response.json()
    assert first["emails"] == [
        {"primary": True, "type": "work", "value": "testing@bob.com"},
        {"primary": False, "type": "home", "value": "testinghome@bob.com"},
    ]
    assert (first["userName"], first["displayName"], first["active"]) == (
        "UserName123",
        "BobIsAmazing",
        True,
    )
    response = scim.post(
        "/Users",
        {
            "UserName": "UserName222",
            "Active": True,
            "DisplayName": "lennay",
            "schemas": [ENTERPRISE, USER],
            "externalId": uuid.uuid4().hex,
            "name": {"formatted": "Adrew Ryan", "familyName": "Ryan", "givenName": "Andrew"},
            ENTERPRISE: {"department": "bob", "manager": {"value": first["id"]}},
        },
    )
    assert response.status_code == 201, describe(response)
    second = response.json()
    assert second[ENTERPRISE]["department"] == "bob"
    assert second[ENTERPRISE]["manager"]["value"] == first["id"]

    assert [u["id"] for u in scim.search("Users", 'DisplayName eq "BobIsAmazing"')] == [first["id"]]
    listed = assert_list_response(scim.get("/Users?attributes=userName,emails"))
    assert {u["id"] for u in listed["Resources"]} == {first["id"], second["id"]}

    response = scim.patch(
        f"/Users/{first['id']}", patch({"op": "replace", "path": "userName", "value": "ryan3"})
    )
    assert response.status_code == 200, describe(response)
    assert scim.read(f"/Users/{first['id']}")["userName"] == "ryan3"

    response = scim.put(
        f"/Users/{second['id']}",
        {
            "UserName": "UserNameReplace2",
            "Active": True,
            "DisplayName": "BobIsAmazing",
            "schemas": [ENTERPRISE, USER],
            "id": second["id"],
            "externalId": uuid.uuid4().hex,
            "name": {"formatted": "NewName", "familyName": "Leenay", "givenName": "Ryan"},
            "emails": [{"primary": True, "type": "work", "value": "testing@bobREPLACE.com"}],
        },
    )
    assert response.status_code == 200, describe(response)
    replaced = scim.read(f"/Users/{second['id']}")
    assert replaced["name"]["formatted"] == "NewName"
    assert replaced["userName"] == "UserNameReplace2"
    assert ENTERPRISE not in replaced  # PUT replaces: the extension was left out

    response = scim.post(
        "/Groups",
        {
            "schemas": [GROUP],
            "externalId": uuid.uuid4().hex,
            "displayName": "GroupDisplayName2",
            "members": [{"value": first["id"], "display": "VP"}],
        },
    )
    assert response.status_code == 201, describe(response)
    group = response.json()
    assert scim.member_ids(group["id"]) == {first["id"]}
    response = scim.put(
        f"/Groups/{group['id']}",
        {
            "schemas": [GROUP],
            "id": group["id"],
            "displayName": "putName",
            "members": [
                {"value": first["id"], "display": "VP"},
                {"value": second["id"], "display": "SenorVP"},
            ],
        },
    )
    assert response.status_code == 200, describe(response)
    assert scim.read(f"/Groups/{group['id']}")["displayName"] == "putName"
    assert scim.member_ids(group["id"]) == {first["id"], second["id"]}

    for resource, resource_id in (
        ("Groups", group["id"]),
        ("Users", first["id"]),
        ("Users", second["id"]),
    ):
        assert scim.delete(f"/{resource}/{resource_id}").status_code == 204


@pytest.mark.parametrize(
    "name",
    [
        "O'Brien + Partners (Cardiology) / 100%",
        "Nurses & Co – #1",
        'R&D "Night" Shift',
        "back\\slash",
    ],
)
def test_group_names_with_special_characters_can_be_matched(scim, name):
    """Entra cannot filter on some special characters (docs/azure-scim-client.md §3.2), but what it
    can send must match: ``'``, ``+``, ``&``, ``%``, ``#``, ``–`` in any case, and ``\\"`` and
    ``\\\\`` escaped per RFC 7644 §3.4.2.2 (JSON string rules)."""
    created = scim.create_group(name)
    escaped = name.replace("\\", "\\\\").replace('"', '\\"')

    found = scim.search(
        "Groups", f'displayName eq "{escaped.upper()}"', excludedAttributes="members"
    )

    assert [g["id"] for g in found] == [created["id"]]
    assert found[0]["displayName"] == name


def test_user_name_with_plus_sign(scim):
    """``+`` means a space only where Entra encodes spaces; a literal plus arrives as %2B."""
    plus = scim.create_user("a+b@riverside.test")
    scim.create_user("a b@riverside.test")

    response = scim.session.get(
        scim.url("/Users?filter=userName+eq+%22A%2BB%40riverside.test%22"), timeout=30
    )

    assert [u["id"] for u in assert_list_response(response)["Resources"]] == [plus["id"]]
