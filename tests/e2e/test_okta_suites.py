"""Okta as a SCIM client: its two published Runscope suites and every Group Push request of its
SCIM 2.0 reference, request for request, over real HTTP against gunicorn.

Sources (okta/okta-developer-docs, quoted in /work/briefs/research18.md §2):
- ``packages/@okta/vuepress-site/.vuepress/public/standards/SCIM/SCIMFiles/``
  ``Okta-SCIM-20-SPEC-Test.json`` (steps 1-12, ``test_spec_*``);
- ``…/SCIMFiles/Okta-SCIM-20-CRUD-Test.json`` (the SCIM checks between Okta API calls,
  ``test_crud_*``; Okta's provisioning engine sends the requests of the reference below);
- ``packages/@okta/vuepress-site/docs/reference/scim/scim-20/index.md`` (``test_reference_*``:
  the verbatim bodies Okta sends, with ``User-Agent: Okta SCIM Client 1.0.0``).

The reference shows no PUT /Groups body, no password-sync PATCH and no already-inactive create;
those tests use the reference's own bodies with the one value named in the test changed.
"""

from __future__ import annotations

import copy
import uuid

import pytest

from scim.models import GroupMembership
from tests.okta_reference import REFERENCE_CREATE_GROUP, REFERENCE_CREATE_USER, REFERENCE_HEADERS
from tests.schemas import ERROR, LIST_RESPONSE, PATCH_OP, USER
from tests.scim.conftest import bulk_users, make_user
from tests.scim_client import describe

pytestmark = pytest.mark.django_db(transaction=True)

# SPEC test request headers (GETs); Authorization is {{auth}}, "Bearer <token>".
SPEC_HEADERS = {
    "Accept-Charset": "utf-8",
    "Content-Type": "application/scim+json; charset=utf-8",
    "Accept": "application/scim+json",
    "User-Agent": "OKTA SCIM Integration",
}
REFERENCE_PUT_USER = {
    "schemas": [USER],
    "id": "23a35c27-23d3-4c03-b4c5-6443c09e7173",
    "userName": "test.user@okta.local",
    "name": {"givenName": "Another", "middleName": "Excited", "familyName": "User"},
    "emails": [
        {
            "primary": True,
            "value": "test.user@okta.local",
            "type": "work",
            "display": "test.user@okta.local",
        }
    ],
    "active": True,
    "groups": [],
    "meta": {"resourceType": "User"},
}


def spec_get(scim, path, **headers):
    return scim.get(path, headers={**SPEC_HEADERS, **headers})


def okta(scim, method, path, body=None):
    return scim.request(method, path, body, headers=REFERENCE_HEADERS)


def spec_body(user_name: str, given: str, family: str, email: str) -> dict:
    """SPEC step 6's POST body, verbatim but for the Runscope variables."""
    return {
        "schemas": [USER],
        "userName": user_name,
        "name": {"givenName": given, "familyName": family},
        "emails": [{"primary": True, "value": email, "type": "work"}],
        "displayName": f"{given} {family}",
        "active": True,
    }


@pytest.fixture
def existing_user(scim):
    """SPEC step 1 needs at least one user already there."""
    return scim.create_user(
        "existing.user@okta.local",
        name={"givenName": "Existing", "familyName": "User"},
        emails=[{"primary": True, "value": "existing.user@okta.local", "type": "work"}],
    )


# -- Okta-SCIM-20-SPEC-Test.json -------------------------------------------------------------


def test_spec_01_02_first_user_of_the_list_and_by_id(scim, existing_user):
    listed = spec_get(scim, "/Users?count=1&startIndex=1")
    body = listed.json()
    first = body["Resources"][0]
    by_id = spec_get(scim, f"/Users/{first['id']}")
    one = by_id.json()
    assert listed.status_code == 200
    assert LIST_RESPONSE in body["schemas"]
    assert all(isinstance(body[k], int) for k in ("itemsPerPage", "startIndex", "totalResults"))
    for resource in (first, one):
        assert resource["id"] and resource["userName"] and resource["emails"][0]["value"]
        assert resource["name"]["familyName"] and resource["name"]["givenName"]
        assert resource["active"] is True
    assert by_id.status_code == 200 and one["id"] == first["id"]


@pytest.mark.parametrize("email", ["invalid-user@okta.local", "random.person@example.com"])
def test_spec_03_05_unknown_user_name_filter_is_an_empty_list(scim, existing_user, email):
    response = spec_get(scim, f'/Users?filter=userName eq "{email}"')
    assert response.status_code == 200
    assert LIST_RESPONSE in response.json()["schemas"]
    assert response.json()["totalResults"] == 0


def test_spec_04_unknown_user_id_is_404_scim_error(scim):
    response = spec_get(scim, f"/Users/{uuid.uuid4()}")
    assert response.status_code == 404
    assert response.json()["detail"] and ERROR in response.json()["schemas"]


def test_spec_06_07_create_user_as_application_json_then_read_it(scim):
    sent = spec_body("Okta.Random@example.com", "Randy", "Okta", "okta.random@example.com")
    created = scim.post(
        "/Users",
        sent,
        headers={**SPEC_HEADERS, "Accept": "application/scim+json; charset=utf-8"},
        content_type="application/json",
    )
    body = created.json()
    read = spec_get(scim, f"/Users/{body['id']}").json()
    assert created.status_code == 201, describe(created)
    assert body["active"] is True and body["id"] and USER in body["schemas"]
    for doc in (body, read):
        assert doc["userName"] == sent["userName"]
        assert doc["name"] == {**doc["name"], **sent["name"]}


def test_spec_08_same_user_name_again_is_409(scim):
    sent = spec_body("Okta.Dup@example.com", "Dee", "Dup", "okta.dup@example.com")
    assert scim.post("/Users", sent, content_type="application/json").status_code == 201
    again = {**sent, "emails": [{**sent["emails"][0], "value": sent["userName"]}]}
    response = scim.post("/Users", again, content_type="application/json")
    assert response.status_code == 409


def test_spec_09_user_name_in_capitals_is_found(scim):
    scim.post("/Users", spec_body("okta.caps@example.com", "C", "Aps", "okta.caps@example.com"))
    response = spec_get(scim, '/Users?filter=userName eq "OKTA.CAPS@EXAMPLE.COM"')
    assert response.status_code == 200
    assert response.json()["totalResults"] == 1


def test_spec_10_groups_list_answers_within_600_ms(scim):
    response = spec_get(scim, "/Groups")
    assert response.status_code == 200
    assert response.elapsed.total_seconds() < 0.6
    body = response.json()
    assert body["totalResults"] == 0 or isinstance(body["Resources"], list)


def test_spec_11_authorization_without_bearer_is_401_scim_error(scim):
    response = spec_get(
        scim, '/Users?filter=userName eq "OKTA.CAPS@EXAMPLE.COM"', Authorization="non-token"
    )
    body = response.json()
    assert response.status_code == 401
    assert body["detail"] and body["status"] == "401" and ERROR in body["schemas"]


def test_spec_12_an_id_that_is_not_a_uuid_is_404_not_400(scim):
    response = spec_get(scim, "/Users/00919288221112222")
    body = response.json()
    assert response.status_code == 404
    assert body["detail"] and body["status"] == "404" and ERROR in body["schemas"]


# -- Okta-SCIM-20-CRUD-Test.json (SCIM checks; Okta's engine sends the reference bodies) -------


def test_crud_assigned_user_is_found_by_user_name_with_okta_profile(scim):
    okta(scim, "POST", "/Users", REFERENCE_CREATE_USER)
    response = scim.get(
        '/Users?filter=userName eq "test.user@okta.local"',
        headers={"Accept": "application/scim+json"},
    )
    found = response.json()["Resources"][0]
    assert response.status_code == 200
    assert found["userName"] == found["emails"][0]["value"] == "test.user@okta.local"
    assert (found["name"]["familyName"], found["name"]["givenName"]) == ("User", "Test")


def test_crud_profile_update_deactivate_activate_and_unassign(scim):
    user_id = okta(scim, "POST", "/Users", REFERENCE_CREATE_USER).json()["id"]
    put = okta(scim, "PUT", f"/Users/{user_id}", {**REFERENCE_PUT_USER, "id": user_id})
    given = scim.get(f"/Users/{user_id}").json()["name"]["givenName"]
    states = []
    for active in (False, True, False):  # deactivate, re-activate, unassign
        body = {
            "schemas": [PATCH_OP],
            "Operations": [{"op": "replace", "value": {"active": active}}],
        }
        patched = okta(scim, "PATCH", f"/Users/{user_id}", body)
        read = scim.get(f"/Users/{user_id}")
        states.append((patched.status_code, read.status_code, read.json()["active"]))
    assert put.status_code == 200 and given == "Another"
    assert states == [(200, 200, False), (200, 200, True), (200, 200, False)]


# -- SCIM 2.0 reference: the requests Okta sends -----------------------------------------------


def test_reference_unknown_user_lookup_is_an_empty_list(scim):
    response = okta(
        scim,
        "GET",
        "/Users?filter=userName%20eq%20%22test.user%40okta.local%22&startIndex=1&count=100",
    )
    assert response.status_code == 200 and response.json()["totalResults"] == 0


def test_reference_create_user_with_groups_and_password_never_returns_the_password(scim):
    created = okta(scim, "POST", "/Users", REFERENCE_CREATE_USER)
    read = okta(scim, "GET", f"/Users/{created.json()['id']}")
    listed = okta(scim, "GET", "/Users?startIndex=1&count=100")
    assert created.status_code == 201, describe(created)
    for text in (created.text, read.text, listed.text):
        assert "1mz050nq" not in text and "password" not in text


def test_reference_duplicate_create_is_409_scim_error(scim):
    okta(scim, "POST", "/Users", REFERENCE_CREATE_USER)
    response = okta(scim, "POST", "/Users", REFERENCE_CREATE_USER)
    assert response.status_code == 409 and ERROR in response.json()["schemas"]


def test_reference_create_an_already_inactive_user(scim):
    created = okta(scim, "POST", "/Users", {**REFERENCE_CREATE_USER, "active": False})
    assert created.status_code == 201, describe(created)
    assert okta(scim, "GET", f"/Users/{created.json()['id']}").json()["active"] is False


def test_reference_put_user_with_its_own_id_groups_and_meta(scim):
    user_id = okta(scim, "POST", "/Users", REFERENCE_CREATE_USER).json()["id"]
    response = okta(scim, "PUT", f"/Users/{user_id}", {**REFERENCE_PUT_USER, "id": user_id})
    assert response.status_code == 200, describe(response)
    assert response.json()["name"]["givenName"] == "Another"
    assert response.json()["name"]["middleName"] == "Excited"


def test_reference_put_user_with_another_id_is_400_mutability(scim):
    user_id = okta(scim, "POST", "/Users", REFERENCE_CREATE_USER).json()["id"]
    response = okta(scim, "PUT", f"/Users/{user_id}", REFERENCE_PUT_USER)
    assert response.status_code == 400 and response.json()["scimType"] == "mutability"


def test_reference_import_pages_of_100_in_one_stable_order(scim):
    bulk_users(scim.organization, 230, prefix="import")
    by_100, start = [], 1
    while True:
        body = okta(scim, "GET", f"/Users?startIndex={start}&count=100").json()
        assert all(isinstance(body[k], int) for k in ("itemsPerPage", "startIndex", "totalResults"))
        by_100 += [user["id"] for user in body["Resources"]]
        start += 100
        if start > body["totalResults"]:
            break
    by_37 = []
    for start in range(1, 231, 37):
        body = okta(scim, "GET", f"/Users?startIndex={start}&count=37").json()
        by_37 += [user["id"] for user in body["Resources"]]
    assert len(by_100) == len(set(by_100)) == 230
    assert by_37 == by_100


def _group_with(scim, *user_ids):
    created = okta(scim, "POST", "/Groups", REFERENCE_CREATE_GROUP)
    assert created.status_code == 201, describe(created)
    group_id = created.json()["id"]
    if user_ids:
        add = [{"value": u, "display": "test.user@okta.local"} for u in user_ids]
        body = {
            "schemas": [PATCH_OP],
            "Operations": [{"op": "add", "path": "members", "value": add}],
        }
        assert okta(scim, "PATCH", f"/Groups/{group_id}", body).status_code in (200, 204)
    return group_id


def test_reference_create_group_list_and_read(scim):
    group_id = _group_with(scim)
    listed = okta(scim, "GET", "/Groups?startIndex=1&count=100")
    read = okta(scim, "GET", f"/Groups/{group_id}")
    assert [g["id"] for g in listed.json()["Resources"]] == [group_id]
    assert read.status_code == 200 and read.json()["displayName"] == "Test SCIMv2"


def test_reference_rename_carrying_the_groups_own_id(scim):
    group_id = _group_with(scim)
    body = {
        "schemas": [PATCH_OP],
        "Operations": [
            {"op": "replace", "value": {"id": group_id, "displayName": "Test SCIMv2 renamed"}}
        ],
    }
    response = okta(scim, "PATCH", f"/Groups/{group_id}", body)
    assert response.status_code in (200, 204), describe(response)
    assert okta(scim, "GET", f"/Groups/{group_id}").json()["displayName"] == "Test SCIMv2 renamed"


def test_reference_membership_remove_by_value_filter_and_add(scim):
    first = make_user(scim.organization, "first@okta.local")
    second = make_user(scim.organization, "second@okta.local")
    group_id = _group_with(scim, str(first.scim_id))
    body = {
        "schemas": [PATCH_OP],
        "Operations": [
            {"op": "remove", "path": f'members[value eq "{first.scim_id}"]'},
            {
                "op": "add",
                "path": "members",
                "value": [{"value": str(second.scim_id), "display": "test.user@okta.local"}],
            },
        ],
    }
    response = okta(scim, "PATCH", f"/Groups/{group_id}", body)
    assert response.status_code in (200, 204), describe(response)
    assert scim.member_ids(group_id) == {str(second.scim_id)}


def test_reference_full_push_replaces_members_as_a_diff(scim):
    kept = make_user(scim.organization, "kept@okta.local")
    dropped = make_user(scim.organization, "dropped@okta.local")
    added = make_user(scim.organization, "added@okta.local")
    group_id = _group_with(scim, str(kept.scim_id), str(dropped.scim_id))
    kept_row = GroupMembership.objects.get(user=kept).pk
    body = {
        "schemas": [PATCH_OP],
        "Operations": [
            {
                "op": "replace",
                "path": "members",
                "value": [
                    {"value": str(kept.scim_id), "display": "test.user@okta.local"},
                    {"value": str(added.scim_id), "display": "test.user@okta.local"},
                ],
            }
        ],
    }
    response = okta(scim, "PATCH", f"/Groups/{group_id}", body)
    assert response.status_code in (200, 204), describe(response)
    assert scim.member_ids(group_id) == {str(kept.scim_id), str(added.scim_id)}
    assert GroupMembership.objects.get(user=kept).pk == kept_row


def test_reference_put_group_with_its_own_id_keeps_the_members_it_lists(scim):
    member = make_user(scim.organization, "member@okta.local")
    group_id = _group_with(scim, str(member.scim_id))
    body = {
        **copy.deepcopy(REFERENCE_CREATE_GROUP),
        "id": group_id,
        "displayName": "Test SCIMv2 put",
        "members": [{"value": str(member.scim_id), "display": "test.user@okta.local"}],
    }
    response = okta(scim, "PUT", f"/Groups/{group_id}", body)
    assert response.status_code == 200, describe(response)
    assert response.json()["displayName"] == "Test SCIMv2 put"
    assert scim.member_ids(group_id) == {str(member.scim_id)}


def test_reference_delete_group(scim):
    group_id = _group_with(scim)
    assert okta(scim, "DELETE", f"/Groups/{group_id}").status_code == 204
    assert okta(scim, "GET", f"/Groups/{group_id}").status_code == 404
