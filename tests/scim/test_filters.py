"""Filtering and pagination of /Users and /Groups (RFC 7644 §3.4.2, docs/azure-scim-client.md §2.1,
§3.2)."""

from __future__ import annotations

import uuid

import pytest

from tests.schemas import ENTERPRISE, SCIM_JSON, USER
from tests.schemas import LIST_RESPONSE as LIST

from .conftest import make_group, make_user


@pytest.fixture
def alice(scim):
    return make_user(
        scim.organization,
        "Alice@Riverside.example",
        externalId="Ext-Alice",
        displayName="Alice Liddell",
        name={"givenName": "Alice", "familyName": "Liddell"},
        emails=[
            {"type": "work", "value": "alice.work@riverside.example", "primary": True},
            {"type": "home", "value": "alice@home.example"},
        ],
    )


def search(scim, resource, filter_):
    return scim.get(f"/{resource}", {"filter": filter_})


def names(response):
    return sorted(r.get("userName") or r.get("displayName") for r in response.json()["Resources"])


@pytest.mark.parametrize("resource", ["Users", "Groups"])
def test_test_connection_random_guid_filter_answers_empty_list(scim, resource):
    attribute = "userName" if resource == "Users" else "displayName"

    response = search(scim, resource, f'{attribute} eq "{uuid.uuid4()}"')

    assert response.status_code == 200
    assert response["Content-Type"] == SCIM_JSON
    assert response.json() == {
        "schemas": [LIST],
        "totalResults": 0,
        "itemsPerPage": 0,
        "startIndex": 1,
        "Resources": [],
    }


def test_test_connection_with_plus_encoded_spaces_and_no_accept_header(scim, alice):
    # Reference §2.1: the real request line, no Accept or Content-Type header.
    response = scim.client.get(
        f"{scim.base}/Users?filter=userName+eq+%22alice%40riverside.example%22",
        HTTP_AUTHORIZATION=f"Bearer {scim.token}",
    )

    assert response.status_code == 200
    assert response.json()["totalResults"] == 1


def test_any_accept_header_is_tolerated(scim):
    response = scim.get("/Users", HTTP_ACCEPT="text/html")

    assert response.status_code == 200


def test_unknown_query_parameters_such_as_the_azure_flag_are_ignored(scim):
    response = scim.client.get(
        f"{scim.base}/Users?aadOptscim062020&filter=userName+eq+%22x%22",
        HTTP_AUTHORIZATION=f"Bearer {scim.token}",
    )

    assert response.status_code == 200


def test_get_user_by_query_example(scim, alice):
    # Reference §2.2.3.
    response = search(scim, "Users", 'userName eq "Alice@Riverside.example"')

    body = response.json()
    assert body["schemas"] == [LIST]
    assert body["totalResults"] == 1
    assert body["startIndex"] == 1
    assert body["Resources"][0]["id"] == str(alice.scim_id)
    assert body["Resources"][0]["emails"][0]["type"] == "work"


def test_get_user_by_query_zero_results_example(scim, alice):
    # Reference §2.2.4.
    body = search(scim, "Users", 'userName eq "non-existent user"').json()

    assert body["totalResults"] == 0
    assert body["Resources"] == []


@pytest.mark.parametrize(
    "filter_",
    [
        'userName eq "ALICE@riverside.EXAMPLE"',
        'username EQ "alice@riverside.example"',
        'externalId eq "ext-alice"',
        'displayName eq "alice liddell"',
        'emails[type eq "work"].value eq "ALICE.WORK@riverside.example"',
        'emails[type eq "Work"].value eq "alice.work@riverside.example"',
        'userName eq "alice@riverside.example" and externalId eq "Ext-Alice"',
        'urn:ietf:params:scim:schemas:core:2.0:User:userName eq "alice@riverside.example"',
        'name.familyName eq "LIDDELL"',
        "active eq true",
        'userName sw "alice"',
        'userName co "RIVERSIDE"',
        "externalId pr",
        'not (userName eq "bob@riverside.example")',
    ],
)
def test_user_filters_match_case_insensitively(scim, alice, filter_):
    response = search(scim, "Users", filter_)

    assert response.status_code == 200, response.content
    assert names(response) == ["Alice@Riverside.example"]


def test_id_filter_finds_the_user(scim, alice):
    assert search(scim, "Users", f'id eq "{alice.scim_id}"').json()["totalResults"] == 1


def test_filter_and_requires_both_conditions(scim, alice):
    body = search(scim, "Users", 'userName eq "alice@riverside.example" and externalId eq "x"')

    assert body.json()["totalResults"] == 0


def test_home_email_does_not_match_the_work_email_filter(scim, alice):
    response = search(scim, "Users", 'emails[type eq "work"].value eq "alice@home.example"')

    assert response.json()["totalResults"] == 0


def test_filter_on_active_false_finds_deactivated_users(scim, alice):
    scim.patch_ops(f"/Users/{alice.scim_id}", {"op": "Replace", "path": "active", "value": "False"})

    assert names(search(scim, "Users", "active eq false")) == ["Alice@Riverside.example"]


def test_group_filter_by_display_name_is_case_insensitive(scim):
    make_group(scim.organization, "Night Nurses", externalId="g-1")

    assert names(search(scim, "Groups", 'displayName eq "night nurses"')) == ["Night Nurses"]
    assert names(search(scim, "Groups", 'externalId eq "G-1"')) == ["Night Nurses"]


@pytest.mark.parametrize(
    "resource, filter_",
    [
        ("Users", 'bogus eq "x"'),
        ("Users", 'name.bogus eq "x"'),
        ("Users", 'manager.displayName eq "x"'),
        ("Users", 'emails[type eq "home"].value eq "x"'),
        ("Users", 'emails.value eq "x"'),
        ("Users", "userName eq"),
        ("Users", 'userName eq "unterminated'),
        ("Users", '((userName eq "x"'),
        ("Users", 'active eq "sometimes"'),
        ("Users", "active gt true"),
        ("Users", 'meta.lastModified gt "not a date"'),
        ("Users", ""),
        ("Groups", 'members.display eq "x"'),
        ("Groups", 'userName eq "x"'),
    ],
)
def test_unsupported_or_malformed_filter_answers_400_invalid_filter(scim, resource, filter_):
    response = search(scim, resource, filter_)

    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidFilter"


@pytest.mark.parametrize(
    "filter_",
    [
        'userName eq "x" and bogus eq "y"',
        'bogus eq "y" or userName eq "x"',
        'not (bogus eq "y") and userName eq "x"',
    ],
)
def test_an_unknown_attribute_beside_a_known_one_is_refused_not_dropped(scim, alice, filter_):
    response = search(scim, "Users", filter_)

    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidFilter"


def test_meta_last_modified_filter_works(scim, alice):
    response = search(scim, "Users", 'meta.lastModified gt "2000-01-01T00:00:00Z"')

    assert response.json()["totalResults"] == 1


def test_or_filter_cannot_reach_another_organization(scim, other_scim, alice):
    make_user(other_scim.organization, "mallory@lakeside.example", externalId="m")

    response = search(
        scim,
        "Users",
        'userName eq "mallory@lakeside.example" or externalId eq "m"'
        ' or userName eq "alice@riverside.example"',
    )

    assert names(response) == ["Alice@Riverside.example"]


def test_filter_never_returns_another_organizations_user(scim, other_scim):
    make_user(other_scim.organization, "alice@riverside.example")

    assert (
        search(scim, "Users", 'userName eq "alice@riverside.example"').json()["totalResults"] == 0
    )
    assert search(scim, "Users", "userName pr").json()["totalResults"] == 0


# --- pagination ------------------------------------------------------------------------------


@pytest.fixture
def five_users(scim):
    return [make_user(scim.organization, f"user{n}@riverside.example") for n in range(5)]


def test_pagination_pages_in_a_stable_order_with_total_results(scim, five_users):
    first = scim.get("/Users", {"startIndex": 1, "count": 2}).json()
    second = scim.get("/Users", {"startIndex": 3, "count": 2}).json()
    third = scim.get("/Users", {"startIndex": 5, "count": 2}).json()

    assert [p["totalResults"] for p in (first, second, third)] == [5, 5, 5]
    assert [p["itemsPerPage"] for p in (first, second, third)] == [2, 2, 1]
    assert [p["startIndex"] for p in (first, second, third)] == [1, 3, 5]
    ids = [r["id"] for p in (first, second, third) for r in p["Resources"]]
    assert ids == [str(u.scim_id) for u in five_users]


def test_count_above_the_maximum_is_capped(scim, five_users, settings):
    settings.SCIM_MAX_PAGE_SIZE = 3

    body = scim.get("/Users", {"count": 1000}).json()

    assert body["itemsPerPage"] == 3
    assert body["totalResults"] == 5


def test_count_zero_returns_only_the_total(scim, five_users):
    body = scim.get("/Users", {"count": 0}).json()

    assert body["totalResults"] == 5
    assert body["Resources"] == []


def test_start_index_below_one_is_read_as_one(scim, five_users):
    body = scim.get("/Users", {"startIndex": -4, "count": 1}).json()

    assert body["startIndex"] == 1
    assert body["Resources"][0]["id"] == str(five_users[0].scim_id)


def test_start_index_past_the_end_returns_an_empty_page(scim, five_users):
    body = scim.get("/Users", {"startIndex": 50}).json()

    assert body["totalResults"] == 5
    assert body["Resources"] == []


@pytest.mark.parametrize("params", [{"startIndex": "one"}, {"count": "1.5"}])
def test_non_numeric_pagination_answers_400(scim, params):
    response = scim.get("/Users", params)

    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidValue"


def test_filter_results_paginate_too(scim, five_users):
    body = scim.get("/Users", {"filter": 'userName sw "user"', "startIndex": 2, "count": 2}).json()

    assert body["totalResults"] == 5
    assert [r["userName"] for r in body["Resources"]] == [
        "user1@riverside.example",
        "user2@riverside.example",
    ]


# --- attributes / excludedAttributes ---------------------------------------------------------


def test_attributes_parameter_returns_only_those_plus_id_and_schemas(scim, alice):
    body = scim.get(f"/Users/{alice.scim_id}", {"attributes": "userName,name.givenName"}).json()

    assert body == {
        "schemas": [USER],
        "id": str(alice.scim_id),
        "userName": "Alice@Riverside.example",
        "name": {"givenName": "Alice"},
    }


def test_excluded_attributes_removes_them_from_list_results(scim, alice):
    body = scim.get("/Users", {"excludedAttributes": "emails,name.familyName"}).json()

    resource = body["Resources"][0]
    assert "emails" not in resource
    assert resource["name"] == {"givenName": "Alice"}
    assert resource["id"] == str(alice.scim_id)


def test_excluded_attributes_cannot_remove_id(scim, alice):
    body = scim.get(f"/Users/{alice.scim_id}", {"excludedAttributes": "id,schemas"}).json()

    assert body["id"] == str(alice.scim_id)
    assert body["schemas"]


def test_walkthrough_filter_with_unquoted_value_is_understood(scim, alice):
    # Reference §2.5 example 1: GET /Users?filter=externalId eq jyoung (sic, no quotes).
    response = search(scim, "Users", "externalId eq Ext-Alice")

    assert names(response) == ["Alice@Riverside.example"]


@pytest.mark.parametrize(
    "filter_",
    [
        'manager eq "boss-1"',
        'manager.value eq "BOSS-1"',
        'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager eq "boss-1"',
        'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "cardiology"',
        'employeeNumber eq "E-7"',
    ],
)
def test_enterprise_attributes_are_filterable(scim, filter_):
    user = make_user(
        scim.organization,
        "ext@riverside.example",
        **{
            ENTERPRISE: {
                "manager": {"value": "boss-1"},
                "department": "Cardiology",
                "employeeNumber": "E-7",
            }
        },
    )
    make_user(scim.organization, "other@riverside.example")

    response = search(scim, "Users", filter_)

    assert [r["id"] for r in response.json()["Resources"]] == [str(user.scim_id)]


def test_walkthrough_manager_check_by_id_and_manager(scim):
    # Reference §2.5 example 4: id eq … and manager eq …
    boss = make_user(scim.organization, "boss@riverside.example")
    user = make_user(
        scim.organization,
        "ext@riverside.example",
        **{ENTERPRISE: {"manager": {"value": str(boss.scim_id)}}},
    )

    hit = search(scim, "Users", f'id eq "{user.scim_id}" and manager eq "{boss.scim_id}"')
    miss = search(scim, "Users", f'id eq "{user.scim_id}" and manager eq "{user.scim_id}"')

    assert hit.json()["totalResults"] == 1
    assert miss.json()["totalResults"] == 0


@pytest.mark.parametrize("name", ['R&D "Night" Shift', "back\\slash"])
def test_filter_values_follow_json_string_escapes(scim, name):
    # RFC 7644 §3.4.2.2: compValue is a JSON literal.
    group = make_group(scim.organization, name)
    escaped = name.replace("\\", "\\\\").replace('"', '\\"')

    body = search(scim, "Groups", f'displayName eq "{escaped}"').json()

    assert [r["id"] for r in body["Resources"]] == [str(group.scim_id)]


def test_quoted_true_is_text_not_a_boolean(scim):
    user = make_user(scim.organization, "true")

    assert [r["id"] for r in search(scim, "Users", 'userName eq "true"').json()["Resources"]] == [
        str(user.scim_id)
    ]


@pytest.mark.parametrize(
    "filter_",
    [
        'name.givenName ge "a\\u0000b"',
        'userName eq "nul\\u0000inside"',
        'displayName co "\\u0000"',
    ],
)
def test_filter_value_with_a_nul_character_answers_400_not_500(scim, filter_):
    """Found by bench/fuzz_scim.py: PostgreSQL refuses NUL in text, which was a 500."""
    response = search(scim, "Users", filter_)
    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidFilter"


# -- membership filters on /Groups (Entra's membership check) --------------------------------


@pytest.fixture
def nurses_and_doctors(scim):
    alice = make_user(scim.organization, "alice@riverside.example")
    bob = make_user(scim.organization, "bob@riverside.example")
    nurses = make_group(scim.organization, "Nurses", members=[alice, bob])
    doctors = make_group(scim.organization, "Doctors", members=[bob])
    return alice, bob, nurses, doctors


def group_ids(response) -> set[str]:
    assert response.status_code == 200, response.content
    return {group["id"] for group in response.json()["Resources"]}


@pytest.mark.parametrize("form", ['members eq "{}"', 'members[value eq "{}"]'])
def test_groups_filtered_by_a_member_are_the_groups_holding_that_user(
    scim, nurses_and_doctors, form
):
    alice, bob, nurses, doctors = nurses_and_doctors
    assert group_ids(search(scim, "Groups", form.format(bob.scim_id))) == {
        str(nurses.scim_id),
        str(doctors.scim_id),
    }
    assert group_ids(search(scim, "Groups", form.format(alice.scim_id))) == {str(nurses.scim_id)}


@pytest.mark.parametrize("form", ['members eq "{}"', 'members[value eq "{}"]'])
def test_entras_membership_check_finds_the_group_only_when_the_user_is_a_member(
    scim, nurses_and_doctors, form
):
    alice, bob, nurses, doctors = nurses_and_doctors
    member = f'id eq "{nurses.scim_id}" and ' + form.format(str(alice.scim_id).upper())
    not_member = f'id eq "{doctors.scim_id}" and ' + form.format(alice.scim_id)
    assert group_ids(search(scim, "Groups", member)) == {str(nurses.scim_id)}
    assert group_ids(search(scim, "Groups", not_member)) == set()


def test_a_group_holding_both_members_an_or_filter_names_is_listed_once(scim, nurses_and_doctors):
    alice, bob, nurses, doctors = nurses_and_doctors

    body = search(
        scim, "Groups", f'members eq "{alice.scim_id}" or members eq "{bob.scim_id}"'
    ).json()

    assert body["totalResults"] == 2
    assert sorted(group["id"] for group in body["Resources"]) == sorted(
        [str(nurses.scim_id), str(doctors.scim_id)]
    )


def test_a_member_filter_on_another_tenants_user_finds_nothing(
    scim, other_scim, nurses_and_doctors
):
    _, bob, _, _ = nurses_and_doctors
    assert group_ids(search(other_scim, "Groups", f'members eq "{bob.scim_id}"')) == set()


def test_a_member_filter_on_a_value_that_is_no_user_id_finds_nothing(scim, nurses_and_doctors):
    assert group_ids(search(scim, "Groups", 'members eq "x"')) == set()


# --- lookups that pin one user (read without ordering: scim.views._the_one_and_total) --------


def test_either_of_two_user_names_finds_both_users(scim, five_users):
    either = 'userName eq "user3@riverside.example" or userName eq "user1@riverside.example"'

    body = scim.get("/Users", {"filter": either}).json()

    assert body["totalResults"] == 2
    assert [r["id"] for r in body["Resources"]] == [
        str(five_users[1].scim_id),
        str(five_users[3].scim_id),
    ]


def test_user_name_lookup_past_its_one_result_returns_the_total_and_an_empty_page(scim, five_users):
    body = scim.get(
        "/Users", {"filter": 'userName eq "user2@riverside.example"', "startIndex": 2}
    ).json()

    assert body["totalResults"] == 1
    assert body["Resources"] == []


def test_user_name_lookup_with_count_zero_returns_only_the_total(scim, five_users):
    body = scim.get(
        "/Users", {"filter": 'userName eq "user2@riverside.example"', "count": 0}
    ).json()

    assert body["totalResults"] == 1
    assert body["Resources"] == []


def test_user_name_lookup_that_also_tests_another_attribute_applies_both(scim, five_users):
    body = scim.get(
        "/Users", {"filter": 'userName eq "user2@riverside.example" and active eq false'}
    ).json()

    assert body["totalResults"] == 0
