"""Writing back a read-only attribute unchanged in a PATCH is accepted, changing it is
``mutability`` (RFC 7644 §3.5.2; issue 18: "an unchanged read-only attribute in any PATCH or
PUT is accepted for users and groups")."""

from __future__ import annotations

from tests.scim_client import assert_error

from .conftest import make_group, make_user


def test_a_user_patch_writing_back_its_meta_unchanged_is_accepted(scim):
    user = make_user(scim.organization, "ada@riverside.example")
    meta = scim.get(f"/Users/{user.scim_id}").json()["meta"]

    response = scim.patch_ops(
        f"/Users/{user.scim_id}",
        {"op": "replace", "path": "meta", "value": meta},
        {"op": "replace", "path": "meta.resourceType", "value": "User"},
        {"op": "replace", "path": "title", "value": "Dr"},
    )

    assert response.status_code == 200, response.content
    assert response.json()["title"] == "Dr"


def test_a_group_rename_carrying_its_own_location_is_accepted(scim):
    group = make_group(scim.organization, "Nurses")
    location = scim.get(f"/Groups/{group.scim_id}").json()["meta"]["location"]

    response = scim.patch_ops(
        f"/Groups/{group.scim_id}",
        {"op": "replace", "path": "meta.location", "value": location},
        {"op": "replace", "path": "displayName", "value": "Night nurses"},
    )

    assert response.status_code == 204, response.content
    assert scim.get(f"/Groups/{group.scim_id}").json()["displayName"] == "Night nurses"


def test_a_patch_changing_meta_is_refused_and_changes_nothing(scim):
    user = make_user(scim.organization, "ada@riverside.example")

    response = scim.patch_ops(
        f"/Users/{user.scim_id}",
        {"op": "replace", "path": "title", "value": "Dr"},
        {"op": "replace", "path": "meta.created", "value": "2020-01-01T00:00:00Z"},
    )

    assert_error(response, 400, "mutability")
    assert "title" not in scim.get(f"/Users/{user.scim_id}").json()


def test_a_patch_naming_another_resources_location_is_refused(scim):
    user = make_user(scim.organization, "ada@riverside.example")
    other = make_user(scim.organization, "bob@riverside.example")
    elsewhere = scim.get(f"/Users/{other.scim_id}").json()["meta"]["location"]

    response = scim.patch_ops(
        f"/Users/{user.scim_id}", {"op": "replace", "path": "meta.location", "value": elsewhere}
    )

    assert_error(response, 400, "mutability")
