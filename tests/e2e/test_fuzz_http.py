"""Property tests over real HTTP: whatever PATCH or POST a client sends, the server answers
with a success it really applied or a 4xx SCIM error that changed nothing; never a 5xx.

Operations are drawn from what Entra sends (both dialects, valuePaths, URN paths, string
booleans) mixed with wrong types and broken paths.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.schemas import ENTERPRISE, PATCH_OP, USER
from tests.scim_client import assert_error, assert_list_response, describe

pytestmark = pytest.mark.django_db(transaction=True)

FUZZ = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

PATHS = [
    "userName",
    "displayName",
    "nickName",
    "title",
    "active",
    "externalId",
    "name",
    "name.givenName",
    "name.familyName",
    "name.formatted",
    "emails",
    'emails[type eq "work"]',
    'emails[type eq "work"].value',
    'emails[type eq "home"].value',
    "emails.value",
    'phoneNumbers[type eq "work"].value',
    'addresses[type eq "work"].locality',
    "addresses",
    "roles",
    "preferredLanguage",
    "locale",
    "timezone",
    "userType",
    "profileUrl",
    f"{ENTERPRISE}:department",
    f"{ENTERPRISE}:employeeNumber",
    f"{ENTERPRISE}:manager",
    f"{ENTERPRISE}:manager.value",
    ENTERPRISE,
    "manager",
    "id",
    "meta.created",
    "groups",
    "unknownAttribute",
    "name..givenName",
    'emails[type eq "work"',
    "emails[value pr]",
    'emails[type eq "work" and primary eq true].value',
    "",
]
SCALARS = st.one_of(
    st.text(max_size=20),
    st.sampled_from(["True", "False", "true", "", "x@riverside.test"]),
    st.booleans(),
    st.integers(-5, 5),
    st.none(),
)
VALUES = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(
            st.sampled_from(
                [
                    "value",
                    "type",
                    "primary",
                    "givenName",
                    "display",
                    "familyName",
                    "locality",
                    "$ref",
                    "department",
                    "name.givenName",
                    f"{ENTERPRISE}:department",
                ]
            ),
            children,
            max_size=3,
        ),
    ),
    max_leaves=6,
)
OPERATIONS = st.fixed_dictionaries(
    {"op": st.sampled_from(["add", "replace", "remove", "Add", "Replace", "Remove", "copy"])},
    optional={"path": st.sampled_from(PATHS), "value": VALUES},
)


def comparable(resource: dict) -> dict:
    return {key: value for key, value in resource.items() if key != "meta"}


@FUZZ
@given(operations=st.lists(OPERATIONS, min_size=1, max_size=3))
def test_any_user_patch_is_applied_whole_or_not_at_all(scim, operations):
    user = scim.create_user(
        f"fuzz-{abs(hash(str(operations))) % 10**12}@riverside.test",
        displayName="Fuzz",
        name={"givenName": "Fu", "familyName": "Zz"},
        emails=[{"type": "work", "value": "fuzz@riverside.test", "primary": True}],
    )
    before = scim.read(f"/Users/{user['id']}")

    response = scim.patch(f"/Users/{user['id']}", {"schemas": [PATCH_OP], "Operations": operations})

    assert response.status_code < 500, describe(response)
    after = scim.read(f"/Users/{user['id']}")
    if response.status_code >= 400:
        assert_error(response, response.status_code)
        assert after == before, describe(response)
    elif response.status_code == 200:
        assert comparable(response.json()) == comparable(after), describe(response)
        assert after["userName"] and after["id"] == user["id"]
    else:
        assert response.status_code == 204, describe(response)
    scim.delete(f"/Users/{user['id']}")


USER_ATTRIBUTES = st.dictionaries(
    st.sampled_from(
        [
            "userName",
            "displayName",
            "active",
            "name",
            "emails",
            "externalId",
            "title",
            "phoneNumbers",
            "addresses",
            "roles",
            ENTERPRISE,
            "nickName",
            "UserName",
            "meta",
            "id",
            "groups",
        ]
    ),
    VALUES,
    max_size=5,
)


@FUZZ
@given(attributes=USER_ATTRIBUTES, user_name=st.text(min_size=1, max_size=30))
def test_any_user_post_creates_what_it_answers_or_nothing(scim, attributes, user_name):
    body = {"schemas": [USER], "userName": user_name, **attributes}

    response = scim.post("/Users", body)

    assert response.status_code < 500, describe(response)
    listed = assert_list_response(scim.get("/Users"))
    if response.status_code == 201:
        created = response.json()
        assert comparable(scim.read(f"/Users/{created['id']}")) == comparable(created)
        assert listed["totalResults"] == 1
        scim.delete(f"/Users/{created['id']}")
    else:
        assert_error(response, response.status_code)
        assert response.status_code in (400, 409), describe(response)
        assert listed["totalResults"] == 0, describe(response)


MEMBER_PATHS = [
    "members",
    'members[value eq "{a}"]',
    'members[value eq "{b}"]',
    'members[display eq "x"]',
    "members.value",
    "displayName",
    "externalId",
    "members[value eq {a}]",
    "member",
    "",
]
MEMBER_VALUES = st.one_of(
    st.lists(
        st.fixed_dictionaries(
            {"value": st.sampled_from(["{a}", "{b}", "{c}", "nobody", "", 7])},
            optional={"$ref": st.none(), "display": st.text(max_size=5)},
        ),
        max_size=3,
    ),
    VALUES,
)
MEMBER_OPERATIONS = st.fixed_dictionaries(
    {"op": st.sampled_from(["add", "remove", "replace", "Add", "Remove", "Replace"])},
    optional={"path": st.sampled_from(MEMBER_PATHS), "value": MEMBER_VALUES},
)


@FUZZ
@given(operations=st.lists(MEMBER_OPERATIONS, min_size=1, max_size=3))
def test_any_group_patch_is_applied_whole_or_not_at_all(scim, operations):
    users = {key: scim.create_user(f"{key}@riverside.test")["id"] for key in "abc"}
    group = scim.create_group("Fuzzed", members=[{"value": users["a"]}])
    before = scim.read(f"/Groups/{group['id']}")
    body = json.loads(
        json.dumps({"schemas": [PATCH_OP], "Operations": operations})
        .replace("{a}", users["a"])
        .replace("{b}", users["b"])
        .replace("{c}", users["c"])
    )

    response = scim.patch(f"/Groups/{group['id']}", body)

    assert response.status_code < 500, describe(response)
    after = scim.read(f"/Groups/{group['id']}")
    if response.status_code >= 400:
        assert_error(response, response.status_code)
        assert after == before, describe(response)
    else:
        assert response.status_code == 204, describe(response)
        assert after["displayName"]
        assert {m["value"] for m in after.get("members", [])} <= set(users.values())
    scim.delete(f"/Groups/{group['id']}")
    for user_id in users.values():
        scim.delete(f"/Users/{user_id}")


FILTER_ATTRIBUTES = [
    "userName",
    "displayName",
    "externalId",
    "emails.value",
    "title",
    'emails[type eq "work"].value',
    "name.givenName",
    "active",
    "id",
    "meta.created",
    f"{ENTERPRISE}:department",
    "nickName",
    "bogus",
]
FILTER_OPERATORS = ["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le", "pr", "EQ", "xx"]
FILTER_VALUES = st.one_of(
    st.text(max_size=8).map(json.dumps),
    st.sampled_from(["true", "false", "null", "1", "x"]),
)
FILTERS = st.recursive(
    st.builds(
        lambda attribute, operator, value: (
            f"{attribute} {operator} {value}".rstrip()
            if operator.lower() != "pr"
            else f"{attribute} pr"
        ),
        st.sampled_from(FILTER_ATTRIBUTES),
        st.sampled_from(FILTER_OPERATORS),
        FILTER_VALUES,
    ),
    lambda children: st.one_of(
        st.builds(
            lambda a, op, b: f"{a} {op} {b}",
            children,
            st.sampled_from(["and", "or", "AND"]),
            children,
        ),
        children.map(lambda f: f"not ({f})"),
        children.map(lambda f: f"({f})"),
    ),
    max_leaves=3,
)


@pytest.fixture
def stranger(other_scim) -> dict:
    """Another tenant's data, which no filter on ``scim``'s tenant URL may ever return."""
    return other_scim.create_user(
        "stranger@lakeside.test",
        displayName="Stranger",
        title="x",
        externalId="x",
        active=True,
        emails=[{"type": "work", "value": "x@lakeside.test"}],
    )


@FUZZ
@given(filter_=st.one_of(FILTERS, st.text(max_size=30)))
def test_any_filter_gets_a_list_or_invalid_filter(scim, stranger, filter_):
    """On an empty tenant every filter, however it combines ``or``, ``not`` and ``pr``, finds
    nothing: in particular never the other tenant's user."""
    response = scim.session.get(scim.url("/Users"), params={"filter": filter_}, timeout=30)

    assert response.status_code in (200, 400), describe(response)
    if response.status_code == 400:
        assert_error(response, 400)
        assert response.json().get("scimType") in ("invalidFilter", "invalidValue", None)
    else:
        assert assert_list_response(response)["totalResults"] == 0
