"""RFC 7644 §3.5.2 PATCH semantics Entra relies on without spelling them out, over real HTTP:
complex attributes merge, multi-valued ones append without duplicates, filters target only
the matching values, and a patch of another tenant's id is a 404.
"""

from __future__ import annotations

import pytest

from tests.scim_client import describe

pytestmark = pytest.mark.django_db(transaction=True)

WORK = {"type": "work", "value": "w@riverside.test", "primary": True}
HOME = {"type": "home", "value": "h@riverside.test"}


@pytest.fixture
def user(scim) -> dict:
    return scim.create_user(
        "a@riverside.test", name={"givenName": "G", "familyName": "F"}, emails=[WORK, HOME]
    )


def patched(scim, user: dict, *operations: dict) -> dict:
    response = scim.patch_ops(f"/Users/{user['id']}", *operations)
    assert response.status_code == 200, describe(response)
    after = scim.read(f"/Users/{user['id']}")
    assert response.json() == after
    return after


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "replace", "path": "name", "value": {"givenName": "G2"}},
        {"op": "Replace", "value": {"name": {"givenName": "G2"}}},
        {"op": "add", "path": "name", "value": {"givenName": "G2"}},
    ],
)
def test_replacing_part_of_a_complex_attribute_keeps_the_rest(scim, user, operation):
    """§3.5.2.3: "Sub-attributes that are not specified in the value parameter are left
    unchanged"."""
    assert patched(scim, user, operation)["name"] == {"givenName": "G2", "familyName": "F"}


def test_adding_an_existing_value_changes_nothing_and_a_new_one_appends(scim, user):
    """§3.5.2.1: no duplicate for a value already there; a new value is appended."""
    after = patched(scim, user, {"op": "add", "path": "emails", "value": [HOME]})
    assert after["emails"] == [WORK, HOME]

    other = {"type": "other", "value": "o@riverside.test"}
    after = patched(scim, user, {"op": "add", "value": {"emails": [other]}})
    assert after["emails"] == [WORK, HOME, other]


def test_filters_target_only_matching_values(scim, user):
    after = patched(scim, user, {"op": "remove", "path": 'emails[type eq "home"]'})
    assert after["emails"] == [WORK]

    after = patched(
        scim, user, {"op": "replace", "path": 'emails[type eq "work"].primary', "value": False}
    )
    assert after["emails"] == [{**WORK, "primary": False}]


def test_replacing_a_multi_valued_attribute_without_filter_replaces_all(scim, user):
    other = {"type": "other", "value": "o@riverside.test"}

    assert patched(scim, user, {"op": "replace", "path": "emails", "value": [other]})["emails"] == [
        other
    ]


def test_patch_of_another_tenants_user_is_404(scim, other_scim, user):
    stranger = other_scim.create_user("stranger@lakeside.test", title="Stranger")

    response = scim.patch_ops(
        f"/Users/{stranger['id']}", {"op": "replace", "path": "title", "value": "Mine now"}
    )

    assert response.status_code == 404, describe(response)
    assert other_scim.read(f"/Users/{stranger['id']}")["title"] == "Stranger"
