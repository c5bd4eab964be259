"""The checks of Microsoft's SCIM Validator (docs/azure-scim-client.md §2.8, and the validator
requests third parties logged), over real HTTP against gunicorn.
"""

from __future__ import annotations

import copy
import uuid

import pytest

from tests.schemas import ENTERPRISE, USER
from tests.scim_client import assert_error, assert_list_response, describe

from .azure import (
    CREATE_GROUP,
    CREATE_USER,
    assert_no_content,
    assert_user_patched,
    create_ms_group,
    create_ms_user,
    patch_body,
    work_emails,
)

pytestmark = pytest.mark.django_db(transaction=True)


# §2.8 SCIM Validator checks -----------------------------------------------------------------


def test_validator_create_user_then_find_it_by_joining_property(scim):
    created = create_ms_user(scim)

    [found] = scim.search("Users", f'userName eq "{CREATE_USER["userName"]}"')

    assert found["id"] == created["id"]
    assert found["externalId"] == CREATE_USER["externalId"]
    assert found["emails"] == CREATE_USER["emails"]
    assert found["name"]["givenName"] == "givenName"


@pytest.mark.parametrize(
    "user_name",
    [
        CREATE_USER["userName"],
        CREATE_USER["userName"].upper(),
        CREATE_USER["userName"].lower(),
    ],
)
def test_validator_duplicate_user_is_409_uniqueness(scim, user_name):
    create_ms_user(scim)
    duplicate = copy.deepcopy(CREATE_USER)
    duplicate["userName"] = user_name
    duplicate["externalId"] = str(uuid.uuid4())

    assert_error(scim.post("/Users", duplicate), 409, "uniqueness")

    assert len(scim.search("Users", f'userName eq "{user_name}"')) == 1


@pytest.mark.parametrize("display_name", ["displayName", "DISPLAYNAME"])
def test_validator_duplicate_group_is_409_uniqueness(scim, display_name):
    create_ms_group(scim)

    response = scim.post(
        "/Groups", {**CREATE_GROUP, "displayName": display_name, "externalId": str(uuid.uuid4())}
    )

    assert_error(response, 409, "uniqueness")
    assert len(scim.search("Groups", 'displayName eq "displayName"')) == 1


def test_validator_filters_match_in_a_different_case(scim):
    user = scim.create_user("ford_purdy@testuser.com")
    group = scim.create_group("Clinic Staff")

    assert [u["id"] for u in scim.search("Users", 'userName eq "FORD_PURDY@TESTUSER.COM"')] == [
        user["id"]
    ]
    assert [
        g["id"]
        for g in scim.search(
            "Groups", 'displayName eq "clinic staff"', excludedAttributes="members"
        )
    ] == [group["id"]]


def test_validator_add_attributes(scim):
    user = create_ms_user(scim)

    response = scim.patch(
        f"/Users/{user['id']}",
        patch_body(
            {"op": "add", "path": "title", "value": "Nurse"},
            {"op": "add", "path": "preferredLanguage", "value": "en-US"},
            {"op": "add", "path": 'phoneNumbers[type eq "work"].value', "value": "55555555555"},
            {"op": "add", "path": 'addresses[type eq "work"].locality', "value": "Springfield"},
            {"op": "add", "path": f"{ENTERPRISE}:department", "value": "Cardiology"},
        ),
    )

    assert_user_patched(response, user["id"])
    [after] = scim.search("Users", f'userName eq "{CREATE_USER["userName"]}"')
    assert after["title"] == "Nurse"
    assert after["preferredLanguage"] == "en-US"
    # G2: stored as sent, not reformatted.
    assert [p["value"] for p in after["phoneNumbers"] if p["type"] == "work"] == ["55555555555"]
    assert [a["locality"] for a in after["addresses"] if a["type"] == "work"] == ["Springfield"]
    assert after[ENTERPRISE]["department"] == "Cardiology"


def test_validator_path_less_replace_of_joining_properties(scim):
    user = create_ms_user(scim)

    response = scim.patch(
        f"/Users/{user['id']}",
        patch_body(
            {"op": "replace", "value": {"userName": "renamed@testuser.com"}},
            {"op": "replace", "value": {"displayName": "Renamed"}},
            {"op": "replace", "value": {"externalId": "new-external-id"}},
        ),
    )

    assert_user_patched(response, user["id"])
    [after] = scim.search("Users", 'userName eq "renamed@testuser.com"')
    assert after["id"] == user["id"]
    assert after["displayName"] == "Renamed"
    assert after["externalId"] == "new-external-id"


def test_validator_replace_work_address_parts(scim):
    user = create_ms_user(scim)
    scim.patch(
        f"/Users/{user['id']}",
        patch_body(
            {
                "op": "add",
                "path": "addresses",
                "value": [
                    {
                        "type": "work",
                        "streetAddress": "1 Old Road",
                        "locality": "Oldtown",
                        "primary": True,
                    }
                ],
            }
        ),
    )

    response = scim.patch(
        f"/Users/{user['id']}",
        patch_body(
            {
                "op": "replace",
                "path": 'addresses[type eq "work"].streetAddress',
                "value": "2 New Road",
            },
            {"op": "replace", "path": 'addresses[type eq "work"].locality', "value": "Newtown"},
            {"op": "replace", "path": 'phoneNumbers[type eq "work"].value', "value": "+1 555 0100"},
        ),
    )

    assert_user_patched(response, user["id"])
    after = scim.read(f"/Users/{user['id']}")
    [address] = after["addresses"]
    assert (address["streetAddress"], address["locality"]) == ("2 New Road", "Newtown")
    assert [p["value"] for p in after["phoneNumbers"]] == ["+1 555 0100"]


def test_validator_multiple_ops_on_the_same_attribute_apply_in_order(scim):
    user = create_ms_user(scim)

    response = scim.patch(
        f"/Users/{user['id']}",
        patch_body(
            {"op": "replace", "path": "displayName", "value": "First"},
            {"op": "replace", "path": "displayName", "value": "Second"},
            {"op": "add", "path": "nickName", "value": "Nick"},
            {"op": "remove", "path": "nickName"},
        ),
    )

    assert_user_patched(response, user["id"])
    after = scim.read(f"/Users/{user['id']}")
    assert after["displayName"] == "Second"
    assert "nickName" not in after


@pytest.mark.parametrize("empty", ["", None])
def test_validator_null_update_clears_optional_attributes(scim, empty):
    """Microsoft's SCIM_Null_Update_Test; RFC 7644 §3.5.2.3 treats null as "no value"."""
    user = scim.create_user(
        "nulls@testuser.com", title="Nurse", nickName="Nick", displayName="Null Test"
    )

    response = scim.patch(
        f"/Users/{user['id']}",
        patch_body(
            {"op": "replace", "path": "title", "value": empty},
            {"op": "replace", "path": "nickName", "value": empty},
        ),
    )

    assert_user_patched(response, user["id"])
    after = scim.read(f"/Users/{user['id']}")
    assert "title" not in after and "nickName" not in after
    assert after["displayName"] == "Null Test"


def test_validator_manager_set_change_and_remove(scim):
    first = scim.create_user("first.manager@testuser.com")
    second = scim.create_user("second.manager@testuser.com")
    report = scim.create_user("report@testuser.com")
    path = f"/Users/{report['id']}"

    def manager() -> str | None:
        return scim.read(path).get(ENTERPRISE, {}).get("manager", {}).get("value") or None

    assert_user_patched(
        scim.patch(
            path,
            patch_body(
                {"op": "add", "path": f"{ENTERPRISE}:manager", "value": {"value": first["id"]}}
            ),
        ),
        report["id"],
    )
    assert manager() == first["id"]
    assert_user_patched(
        scim.patch(
            path,
            patch_body({"op": "replace", "path": f"{ENTERPRISE}:manager", "value": second["id"]}),
        ),
        report["id"],
    )
    assert manager() == second["id"]
    assert_user_patched(
        scim.patch(path, patch_body({"op": "remove", "path": f"{ENTERPRISE}:manager"})),
        report["id"],
    )
    assert manager() is None


def test_validator_group_replace_attributes_and_add_member(scim):
    group = create_ms_group(scim)
    user = create_ms_user(scim)

    assert_no_content(
        scim.patch(
            f"/Groups/{group['id']}",
            patch_body(
                {"op": "replace", "value": {"displayName": "Renamed Group", "externalId": "ext-2"}}
            ),
        )
    )
    assert_no_content(
        scim.patch(
            f"/Groups/{group['id']}",
            patch_body({"op": "add", "path": "members", "value": [{"value": user["id"]}]}),
        )
    )

    [found] = scim.search("Groups", 'displayName eq "Renamed Group"')
    assert found["id"] == group["id"]
    assert found["externalId"] == "ext-2"
    assert scim.member_ids(group["id"]) == {user["id"]}


def test_validator_delete_twice_and_delete_unknown_are_404(scim):
    user = create_ms_user(scim)

    assert_no_content(scim.delete(f"/Users/{user['id']}"))
    assert_error(scim.delete(f"/Users/{user['id']}"), 404)
    assert_error(scim.delete(f"/Users/{uuid.uuid4()}"), 404)
    assert_error(scim.delete(f"/Groups/{uuid.uuid4()}"), 404)


def test_validator_request_content_type_with_charset(scim):
    response = scim.post(
        "/Users", CREATE_USER, headers={"Content-Type": "application/scim+json; charset=utf-8"}
    )

    assert response.status_code == 201, describe(response)
    assert response.json()["userName"] == CREATE_USER["userName"]


def test_list_response_pages_with_start_index_and_count(scim):
    """Microsoft's gallery validation pages with ``startIndex``/``count`` (page size 5)."""
    created = {scim.create_user(f"page{n:02d}@testuser.com")["id"] for n in range(12)}

    seen: list[str] = []
    for start in (1, 6, 11):
        body = assert_list_response(scim.get(f"/Users?startIndex={start}&count=5"))
        assert body["totalResults"] == 12
        assert body["startIndex"] == start
        assert body["itemsPerPage"] == len(body["Resources"])
        seen += [user["id"] for user in body["Resources"]]

    assert len(seen) == 12 and set(seen) == created


def test_another_tenants_token_and_data_stay_apart(scim, other_scim):
    """Cross-tenant check: org B's token on org A's URL is refused; its data stays apart."""
    mine = create_ms_user(scim)
    theirs = other_scim.post("/Users", CREATE_USER)
    assert theirs.status_code == 201, describe(theirs)  # same userName, another tenant
    intruder = scim.session.get(
        scim.url(f"/Users/{mine['id']}"),
        timeout=30,
        headers={"Authorization": f"Bearer {other_scim.token}"},
    )

    assert_error(intruder, 401)
    assert_error(other_scim.get(f"/Users/{mine['id']}"), 404)
    assert [u["id"] for u in scim.search("Users", f'userName eq "{CREATE_USER["userName"]}"')] == [
        mine["id"]
    ]
    assert assert_list_response(scim.get("/Users"))["totalResults"] == 1


@pytest.mark.parametrize("empty", ["", None])
def test_validator_null_update_of_sub_attributes_and_value_paths(scim, empty):
    """The gallery Logic App's null update also targets ``name.givenName``, the work email and
    phone, and enterprise attributes; each is cleared, nothing else is."""
    user = scim.create_user(
        "nulls@testuser.com",
        schemas=[USER, ENTERPRISE],
        name={"givenName": "G", "familyName": "F"},
        emails=[{"type": "work", "value": "w@testuser.com", "primary": True}],
        phoneNumbers=[{"type": "work", "value": "555"}],
        **{ENTERPRISE: {"department": "D", "employeeNumber": "1"}},
    )

    assert_user_patched(
        scim.patch(
            f"/Users/{user['id']}",
            patch_body(
                {"op": "Replace", "path": "name.givenName", "value": empty},
                {"op": "Replace", "path": 'emails[type eq "work"].value', "value": empty},
                {"op": "Replace", "path": 'phoneNumbers[type eq "work"].value', "value": empty},
                {"op": "Replace", "path": f"{ENTERPRISE}:department", "value": empty},
            ),
        ),
        user["id"],
    )

    after = scim.read(f"/Users/{user['id']}")
    assert after["name"] == {"familyName": "F"}
    assert not work_emails(after)
    assert not [p for p in after.get("phoneNumbers", []) if p.get("value")]
    assert after[ENTERPRISE] == {"employeeNumber": "1"}
