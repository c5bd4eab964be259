"""No bad input gets a 5xx: every malformed request is a SCIM 4xx."""

from __future__ import annotations

import itertools
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.schemas import ENTERPRISE, PATCH_OP, USER

from .conftest import make_group, make_user

# Each filter with its answer on /Users and on /Groups: 200 a ListResponse, 400 invalidFilter.
WEIRD_FILTERS = [
    ("id eq 5", 200, 200),
    ("userName eq 5", 200, 400),
    ("userName eq true", 200, 400),
    ("userName gt 5", 200, 400),
    ("externalId eq null", 200, 200),
    ("active eq 1", 400, 400),
    ("meta.created eq true", 400, 400),
    ("displayName co 5", 200, 200),
    ('meta.created gt "2020-13-45"', 400, 400),
    ('userName eq "a\x00b"', 400, 400),
    ("userName pr and", 400, 400),
    ("or", 400, 400),
    ('"x"', 400, 400),
    ('emails[type eq "work"].value gt 5', 200, 400),
    ('emails[value eq "x"]', 400, 400),
    ('name[givenName eq "x"]', 200, 400),
    ("userName eq " + "9" * 400, 400, 400),
    ('meta.lastModified ge "2020-01-01T00:00:00+25:00"', 400, 400),
    ('not userName eq "x"', 400, 400),
    ('userName eq "x" or', 400, 400),
    # Eleven levels of parentheses: past the nesting bound (scim/filters.py), on both resources.
    ('(((((((((((userName eq "x")))))))))))', 400, 400),
]


@pytest.mark.parametrize(
    ("resource", "filter_", "expected"),
    [
        (resource, filter_, status)
        for filter_, *statuses in WEIRD_FILTERS
        for resource, status in zip(["Users", "Groups"], statuses, strict=True)
    ],
)
def test_weird_filters_get_a_list_or_invalid_filter(scim, resource, filter_, expected):
    response = scim.get(f"/{resource}", {"filter": filter_})

    assert response.status_code == expected, response.content
    if expected == 400:
        assert response.json()["scimType"] == "invalidFilter"
    else:
        assert response.json()["totalResults"] == 0


def test_filter_with_invalid_utf8_in_the_url_never_fails_the_server(scim):
    response = scim.client.get(
        f"{scim.base}/Users?filter=userName%20eq%20%22%ED%A0%80%00%22",
        HTTP_AUTHORIZATION=f"Bearer {scim.token}",
    )

    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidFilter"


@pytest.mark.parametrize(
    ("params", "page_length"),
    [
        ({"startIndex": "99999999999999999999999"}, 0),
        ({"count": "-99999999999999999999"}, 0),
        ({"count": ""}, 1),
        ({"attributes": ",,,"}, 1),
        ({"excludedAttributes": "urn:"}, 1),
        ({"attributes": USER}, 1),
    ],
)
def test_odd_list_parameters_get_a_list_page(scim, params, page_length):
    make_user(scim.organization, "alice@riverside.example")

    response = scim.get("/Users", params)

    assert response.status_code == 200, response.content
    assert (response.json()["totalResults"], len(response.json()["Resources"])) == (1, page_length)


def test_a_start_index_that_is_not_a_whole_number_is_invalid_value(scim):
    response = scim.get("/Users", {"startIndex": "1e3"})

    assert (response.status_code, response.json()["scimType"]) == (400, "invalidValue")


@pytest.mark.parametrize(
    "raw",
    [
        '{"userName": NaN}',
        '{"userName": "x", "title": Infinity}',
        '{"userName": "a\\u0000b"}',
        '{"userName": "x", "title": "\\ud800"}',
        '{"userName": "x", "nested": ' + "[" * 5000 + "]" * 5000 + "}",
        '{"userName": "x", "deep": ' + '{"a":' * 200 + "1" + "}" * 200 + "}",
        "\xff\xfe",
        '{"userName": "x"',
    ],
)
def test_hostile_bodies_answer_400(scim, raw):
    response = scim.post("/Users", raw=raw)

    assert response.status_code == 400, response.content
    assert response.json()["status"] == "400"


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.text(max_size=20)
    | st.sampled_from(["True", "False", "", "work", USER]),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(["value", "type", "primary", "givenName", "$ref", "x"]),
            children,
            max_size=4,
        )
    ),
    max_leaves=12,
)
paths = (
    st.none()
    | st.sampled_from(
        [
            "active",
            "userName",
            "displayName",
            "name.givenName",
            "emails",
            'emails[type eq "work"].value',
            'emails[type eq "work"]',
            "manager",
            ENTERPRISE,
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
            "members",
            'members[value eq "x"]',
            "externalId",
            "roles",
            "id",
            "meta",
            "groups",
            "",
            "x[",
            "a.b.c",
            'addresses[type eq "work"].locality',
            "name",
            "title",
        ]
    )
    | st.text(max_size=15)
)
operations = st.fixed_dictionaries(
    {
        "op": st.sampled_from(["add", "Add", "replace", "Replace", "remove", "Remove", "move", 5]),
        "path": paths,
        "value": json_values,
    }
)
_names = itertools.count()
fuzz = settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@fuzz
@given(ops=st.lists(operations, min_size=1, max_size=3))
def test_random_user_patches_never_fail_the_server(scim, ops):
    user = make_user(scim.organization, f"fuzz{next(_names)}@riverside.example")

    response = scim.patch(f"/Users/{user.scim_id}", {"schemas": [PATCH_OP], "Operations": ops})

    assert response.status_code in {200, 400, 409}, response.content


@fuzz
@given(ops=st.lists(operations, min_size=1, max_size=3))
def test_random_group_patches_never_fail_the_server(scim, ops):
    group = make_group(scim.organization, f"Fuzz {next(_names)}")

    response = scim.patch(f"/Groups/{group.scim_id}", {"schemas": [PATCH_OP], "Operations": ops})

    assert response.status_code in {204, 400, 409}, response.content


@fuzz
@given(
    body=st.dictionaries(
        st.sampled_from(
            [
                "userName",
                "displayName",
                "active",
                "emails",
                "name",
                "externalId",
                ENTERPRISE,
                "roles",
                "members",
                "schemas",
                "id",
                "meta",
                "password",
            ]
        ),
        json_values,
        max_size=6,
    )
)
@pytest.mark.parametrize("resource", ["Users", "Groups"])
def test_random_creates_never_fail_the_server(scim, resource, body):
    response = scim.post(f"/{resource}", body)

    assert response.status_code in {201, 400, 409}, response.content


def test_other_organizations_ids_in_random_places_never_leak(scim, other_scim):
    foreign = make_user(other_scim.organization, "bob@lakeside.example")
    members = [{"value": str(foreign.scim_id)}]

    response = scim.post("/Groups", {"displayName": "G", "members": members})

    assert response.status_code == 400
    assert b"bob" not in response.content and json.loads(response.content)["status"] == "400"
