"""One identity per userName and group displayName: NFKC, then case folding, on every database.

Two names with the same ``identity_key`` are one name (409 ``uniqueness``, and a filter for
either finds it); different keys are different people, whatever the database's collation says.
"""

from __future__ import annotations

import pytest

from scim.models import ScimUser, identity_key

from .conftest import make_group, make_user

KELVIN = "\u212a"  # KELVIN SIGN, NFKC → "K"
DOTLESS_I = "\u0131"  # LATIN SMALL LETTER DOTLESS I, its own letter

SAME_NAME = [
    pytest.param("admin@riverside.example", "ADMIN@Riverside.Example", id="ASCII case"),
    pytest.param("kate@riverside.example", f"{KELVIN}ate@riverside.example", id="Kelvin sign"),
    pytest.param("ada@riverside.example", "ａｄａ@riverside.example", id="fullwidth letters"),
    pytest.param("strasse@riverside.example", "STRAßE@riverside.example", id="sharp s folds"),
    pytest.param("émile@riverside.example", "E\u0301MILE@riverside.example", id="combining"),
]


def create(scim, user_name):
    return scim.post("/Users", {"userName": user_name})


def find(scim, user_name):
    response = scim.get("/Users", {"filter": f'userName eq "{user_name}"'})
    assert response.status_code == 200, response.content
    return [resource["userName"] for resource in response.json()["Resources"]]


@pytest.mark.parametrize("first, second", SAME_NAME)
def test_a_user_name_with_the_same_identity_key_is_a_409_uniqueness(scim, first, second):
    assert create(scim, first).status_code == 201

    response = create(scim, second)

    assert response.status_code == 409, response.content
    assert response.json()["scimType"] == "uniqueness"


@pytest.mark.parametrize("first, second", SAME_NAME)
def test_a_filter_for_either_spelling_finds_the_one_user(scim, first, second):
    make_user(scim.organization, first)

    assert find(scim, second) == [first]


def test_dotless_i_and_i_are_two_different_users(scim):
    assert create(scim, "admin@riverside.example").status_code == 201

    response = create(scim, f"adm{DOTLESS_I}n@riverside.example")

    assert response.status_code == 201, response.content


def test_a_filter_for_the_dotless_i_name_does_not_find_the_plain_i_user(scim):
    make_user(scim.organization, "admin@riverside.example")
    make_user(scim.organization, f"adm{DOTLESS_I}n@riverside.example")

    assert find(scim, f"ADM{DOTLESS_I}N@riverside.example") == [
        f"adm{DOTLESS_I}n@riverside.example"
    ]
    assert find(scim, "ADMIN@riverside.example") == ["admin@riverside.example"]


def test_renaming_a_user_onto_another_users_key_is_a_409(scim):
    make_user(scim.organization, "kate@riverside.example")
    other = make_user(scim.organization, "other@riverside.example")

    response = scim.patch_ops(
        f"/Users/{other.scim_id}",
        {"op": "replace", "path": "userName", "value": f"{KELVIN}ATE@riverside.example"},
    )

    assert response.status_code == 409, response.content
    assert response.json()["scimType"] == "uniqueness"


def test_the_stored_key_follows_a_rename(scim):
    user = make_user(scim.organization, "kate@riverside.example")

    scim.patch_ops(
        f"/Users/{user.scim_id}", {"op": "replace", "path": "userName", "value": "ＫＡＴＩＥ@x"}
    )

    user.refresh_from_db()
    assert (user.user_name, user.user_name_key) == ("ＫＡＴＩＥ@x", "katie@x")


def test_a_group_display_name_with_the_same_identity_key_is_a_409(scim):
    make_group(scim.organization, "Night Nurses")

    response = scim.post("/Groups", {"displayName": "ＮＩＧＨＴ ＮＵＲＳＥＳ"})

    assert response.status_code == 409, response.content
    assert response.json()["scimType"] == "uniqueness"


def test_a_group_filter_compares_the_identity_key(scim):
    make_group(scim.organization, f"{KELVIN}itchen staff")

    response = scim.get("/Groups", {"filter": 'displayName eq "KITCHEN STAFF"'})

    assert [g["displayName"] for g in response.json()["Resources"]] == [f"{KELVIN}itchen staff"]


def test_a_name_whose_key_would_overflow_its_column_is_a_400(scim):
    # U+FDFA is one character that NFKC expands to eighteen.
    response = create(scim, "\ufdfa" * 100)

    assert response.status_code == 400, response.content
    assert "userName is too long once normalised" in response.json()["detail"]


def test_bulk_created_rows_get_their_key_too(organization):
    ScimUser.objects.bulk_create([ScimUser(organization=organization, user_name="ＢＵＬＫ@x")])

    assert ScimUser.objects.get(organization=organization).user_name_key == identity_key("bulk@x")


def test_the_same_key_in_another_organization_is_another_user(scim, other_scim):
    make_user(other_scim.organization, "kate@riverside.example")

    assert create(scim, f"{KELVIN}ate@riverside.example").status_code == 201
    assert find(scim, "kate@riverside.example") == [f"{KELVIN}ate@riverside.example"]
