"""Bad input over real HTTP: always a 4xx with a SCIM error body (RFC 7644 §3.12), never a 5xx,
and nothing half-applied. Every test reads the state back after the refused request.
"""

from __future__ import annotations

import http.client
import json
import uuid
from urllib.parse import quote, urlsplit

import pytest
import requests

from tests.schemas import ERROR, GROUP, PATCH_OP, SCIM_JSON, USER
from tests.scim_client import assert_client_error, assert_error, assert_list_response, describe

pytestmark = pytest.mark.django_db(transaction=True)


def user_count(scim) -> int:
    return assert_list_response(scim.get("/Users"))["totalResults"]


def group_count(scim) -> int:
    return assert_list_response(scim.get("/Groups"))["totalResults"]


@pytest.fixture
def alice(scim) -> dict:
    return scim.create_user(
        "alice@riverside.test",
        displayName="Alice",
        name={"givenName": "Alice"},
        emails=[{"type": "work", "value": "alice@riverside.test", "primary": True}],
    )


@pytest.fixture
def team(scim, alice) -> dict:
    group = scim.create_group("Team")
    response = scim.patch_ops(
        f"/Groups/{group['id']}",
        {"op": "add", "path": "members", "value": [{"value": alice["id"]}]},
    )
    assert response.status_code == 204, describe(response)
    return group


def assert_alice_unchanged(scim, alice: dict) -> None:
    after = scim.read(f"/Users/{alice['id']}")
    for key in ("userName", "displayName", "name", "emails", "active", "externalId"):
        assert after.get(key) == alice.get(key), key
    assert "nickName" not in after and "title" not in after


# Malformed and non-object bodies ------------------------------------------------------------

MALFORMED = [
    b"{",
    b'{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "x",}',
    b"{'userName': 'single quotes'}",
    b"",
    b"\xff\xfe\x00garbage",
    b'{"userName": "x"} trailing',
    b"[" * 100_000 + b"]" * 100_000,  # deeper than Python's json recursion limit
    b'{"userName": NaN}',
]
NON_OBJECTS = [b"[]", b'["userName"]', b'"userName"', b"42", b"null", b"true"]


@pytest.mark.parametrize("raw", MALFORMED + NON_OBJECTS, ids=lambda raw: repr(raw[:20]))
def test_post_user_with_bad_body_is_400(scim, alice, raw):
    assert_error(scim.post("/Users", raw=raw), 400)

    assert user_count(scim) == 1


@pytest.mark.parametrize("raw", MALFORMED + NON_OBJECTS, ids=lambda raw: repr(raw[:20]))
def test_post_group_with_bad_body_is_400(scim, team, raw):
    assert_error(scim.post("/Groups", raw=raw), 400)

    assert group_count(scim) == 1


@pytest.mark.parametrize("raw", MALFORMED + NON_OBJECTS, ids=lambda raw: repr(raw[:20]))
def test_patch_and_put_user_with_bad_body_is_400(scim, alice, raw):
    assert_error(scim.patch(f"/Users/{alice['id']}", raw=raw), 400)
    assert_error(scim.put(f"/Users/{alice['id']}", raw=raw), 400)

    assert_alice_unchanged(scim, alice)


@pytest.mark.parametrize("raw", [b"{", b"[]", b"null", b'{"Operations": 5}'])
def test_patch_group_with_bad_body_is_400(scim, team, alice, raw):
    assert_error(scim.patch(f"/Groups/{team['id']}", raw=raw), 400)

    assert scim.member_ids(team["id"]) == {alice["id"]}


# Wrong types --------------------------------------------------------------------------------

WRONG_USERS = [
    {"userName": 42},
    {"userName": ["alice2@riverside.test"]},
    {"userName": {"value": "alice2@riverside.test"}},
    {"userName": ""},
    {"userName": None},
    {},
    {"userName": "bob@riverside.test", "active": "maybe"},
    {"userName": "bob@riverside.test", "active": 3},
    {"userName": "bob@riverside.test", "emails": "bob@riverside.test"},
    {"userName": "bob@riverside.test", "emails": {"value": "bob@riverside.test"}},
    {"userName": "bob@riverside.test", "emails": [["bob@riverside.test"]]},
    {"userName": "bob@riverside.test", "emails": [{"value": 7, "type": "work"}]},
    {"userName": "bob@riverside.test", "name": "Bob Example"},
    {"userName": "bob@riverside.test", "name": {"givenName": ["Bob"]}},
    {"userName": "bob@riverside.test", "displayName": ["Bob"]},
    {"userName": "bob@riverside.test", "externalId": {"id": 1}},
]


@pytest.mark.parametrize("attributes", WRONG_USERS, ids=lambda a: json.dumps(a)[:40])
def test_post_user_with_wrong_types_is_400(scim, alice, attributes):
    response = scim.post("/Users", {"schemas": [USER], **attributes})

    assert_error(response, 400)
    assert user_count(scim) == 1
    assert scim.search("Users", 'userName eq "bob@riverside.test"') == []


@pytest.mark.parametrize(
    "attributes",
    [
        {"displayName": 42},
        {"displayName": ""},
        {},
        {"displayName": ["Team B"]},
        {"displayName": "Team B", "members": "everyone"},
        {"displayName": "Team B", "members": [{"value": 7}]},
        {"displayName": "Team B", "members": [{"value": str(uuid.uuid4())}]},
        {"displayName": "Team B", "members": [{"value": "not-a-user-id"}]},
    ],
    ids=lambda a: json.dumps(a)[:40],
)
def test_post_group_with_wrong_types_is_400(scim, team, attributes):
    response = scim.post("/Groups", {"schemas": [GROUP], **attributes})

    assert_error(response, 400)
    assert group_count(scim) == 1


BAD_OPERATIONS = [
    {"op": "frobnicate", "path": "displayName", "value": "x"},
    {"path": "displayName", "value": "x"},
    {"op": "replace", "path": "active", "value": "maybe"},
    {"op": "replace", "path": "active", "value": 2},
    {"op": "replace", "path": "userName", "value": 42},
    {"op": "replace", "path": "userName", "value": ""},
    {"op": "replace", "path": "displayName", "value": {"nested": True}},
    {"op": "replace", "path": "emails", "value": "alice@elsewhere.test"},
    {"op": "replace", "path": 'emails[type eq "work"', "value": "x@y.test"},
    {"op": "replace", "path": 'emails[type eq "work"].value.extra', "value": "x@y.test"},
    {"op": "replace", "path": "name..givenName", "value": "x"},
    {"op": "replace", "value": "not an object"},
    {"op": "replace", "value": ["not", "an", "object"]},
    {"op": "add", "path": "displayName"},
    {"op": "replace", "path": "id", "value": str(uuid.uuid4())},
    {"op": "replace", "path": "meta.created", "value": "2000-01-01T00:00:00Z"},
    {"op": "remove"},
    {"op": "remove", "path": "userName"},
    "not an operation",
    ["op", "add"],
]


@pytest.mark.parametrize("operation", BAD_OPERATIONS, ids=lambda op: json.dumps(op)[:50])
def test_bad_patch_operation_is_refused_and_applies_nothing(scim, alice, operation):
    """The bad operation comes second: the good first one must not be applied either
    (RFC 7644 §3.5.2: a PATCH is atomic)."""
    response = scim.patch_ops(
        f"/Users/{alice['id']}", {"op": "add", "path": "nickName", "value": "Ally"}, operation
    )

    assert_client_error(response)
    assert_alice_unchanged(scim, alice)


@pytest.mark.parametrize(
    "body",
    [
        {"schemas": [PATCH_OP]},
        {"schemas": [PATCH_OP], "Operations": "add"},
        {"schemas": [PATCH_OP], "Operations": {"op": "add", "path": "nickName", "value": "x"}},
        {"schemas": [PATCH_OP], "Operations": [None]},
    ],
    ids=lambda body: json.dumps(body)[70:110],
)
def test_patch_without_an_operations_list_is_400(scim, alice, body):
    assert_error(scim.patch(f"/Users/{alice['id']}", body), 400)

    assert_alice_unchanged(scim, alice)


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "add", "path": "members", "value": "not-a-list"},
        {"op": "add", "path": "members", "value": [{"value": 12}]},
        {"op": "add", "path": "members", "value": [{"display": "no value"}]},
        {"op": "add", "path": "members", "value": [{"value": "not-a-user-id"}]},
        {"op": "add", "path": "members", "value": [{"value": str(uuid.uuid4())}]},
        {"op": "remove", "path": "members[value eq 12"},
        {"op": "remove", "path": 'members[display eq "x"] or'},
        {"op": "replace", "path": "displayName", "value": ""},
        {"op": "replace", "path": "displayName", "value": ["x"]},
        {"op": "frobnicate", "path": "members", "value": []},
    ],
    ids=lambda op: json.dumps(op)[:50],
)
def test_bad_group_patch_is_refused_and_applies_nothing(scim, team, alice, operation):
    bob = scim.create_user("bob@riverside.test")

    response = scim.patch_ops(
        f"/Groups/{team['id']}",
        {"op": "add", "path": "members", "value": [{"value": bob["id"]}]},
        operation,
    )

    assert_client_error(response)
    assert scim.member_ids(team["id"]) == {alice["id"]}
    assert scim.read(f"/Groups/{team['id']}")["displayName"] == "Team"


def test_group_patch_with_another_tenants_user_adds_nothing(scim, other_scim, team, alice):
    """A member id from another organization is as unknown as a random one."""
    stranger = other_scim.create_user("stranger@lakeside.test")

    response = scim.patch_ops(
        f"/Groups/{team['id']}",
        {"op": "add", "path": "members", "value": [{"value": stranger["id"]}]},
    )

    assert_client_error(response)
    assert scim.member_ids(team["id"]) == {alice["id"]}
    assert other_scim.read(f"/Users/{stranger['id']}")["userName"] == "stranger@lakeside.test"


# Unknown attributes -------------------------------------------------------------------------


def test_an_attribute_the_core_schema_does_not_define_is_refused_by_name(scim, alice):
    """The core schemas are closed (unbounded custom keys once made 54 MB list pages): an
    undefined attribute is a 400 naming it, and nothing is created."""
    response = scim.post(
        "/Users", {"schemas": [USER], "userName": "bob@riverside.test", "favouriteColour": "teal"}
    )

    assert response.status_code == 400, describe(response)
    assert response.json()["scimType"] == "invalidSyntax"
    assert 'attribute "favouriteColour"' in response.json()["detail"]
    assert scim.search("Users", 'userName eq "bob@riverside.test"') == []


def test_a_user_with_thousands_of_extension_keys_is_refused_and_not_stored(scim, alice):
    urn = "urn:ietf:params:scim:schemas:extension:kno2:2.0:User"
    response = scim.post(
        "/Users", {"userName": "bob@riverside.test", urn: {f"k{n}": "v" for n in range(20_000)}}
    )

    assert response.status_code == 400, describe(response)
    assert scim.search("Users", 'userName eq "bob@riverside.test"') == []


def test_an_extension_schema_value_is_kept_as_sent(scim, alice):
    urn = "urn:ietf:params:scim:schemas:extension:kno2:2.0:User"
    response = scim.post(
        "/Users",
        {"schemas": [USER, urn], "userName": "bob@riverside.test", urn: {"npi": "1234567890"}},
    )

    assert response.status_code == 201, describe(response)
    bob = scim.read(f"/Users/{response.json()['id']}")
    assert bob[urn] == {"npi": "1234567890"}
    assert urn in bob["schemas"]


def test_client_supplied_id_and_meta_are_ignored(scim, alice):
    """RFC 7643 §3.1: ``id`` and ``meta`` are assigned by the service provider."""
    chosen = str(uuid.uuid4())
    response = scim.post(
        "/Users",
        {
            "schemas": [USER],
            "id": chosen,
            "userName": "bob@riverside.test",
            "meta": {
                "resourceType": "Group",
                "created": "2000-01-01T00:00:00Z",
                "location": "https://evil.test/Users/1",
            },
        },
    )

    assert response.status_code == 201, describe(response)
    bob = response.json()
    assert bob["id"] != chosen
    assert bob["meta"]["resourceType"] == "User"
    assert bob["meta"]["created"] > "2001"
    assert not bob["meta"]["location"].startswith("https://evil.test")
    assert_error(scim.get(f"/Users/{chosen}"), 404)


# Bad filters and query parameters -----------------------------------------------------------

BAD_FILTERS = [
    "userName",
    "userName eq",
    'userName xx "alice@riverside.test"',
    '(userName eq "alice@riverside.test"',
    'userName eq "alice@riverside.test" and',
    'userName eq "unterminated',
    'emails[type eq "work".value eq "alice@riverside.test"',
    'userName eq "a" or or userName eq "b"',
    "eq eq eq",
    ")",
    'userName eq "nul\u0000inside"',  # PostgreSQL text cannot hold NUL
]


@pytest.mark.parametrize("filter_", BAD_FILTERS)
@pytest.mark.parametrize("resource", ["Users", "Groups"])
def test_unparseable_filter_is_400_invalid_filter(scim, alice, team, resource, filter_):
    assert_error(scim.get(f"/{resource}?filter={quote(filter_)}"), 400, "invalidFilter")


@pytest.mark.parametrize(
    "filter_",
    [
        "userName eq \"x' OR '1'='1\"",
        'userName eq "alice@riverside.test\') OR 1=1 --"',
        'userName eq "%" or userName eq "_"',
        'userName sw "%"',
        'userName co "\\\\"',
        'displayName eq "Alice\\" or \\"1\\" eq \\"1"',
    ],
)
def test_injection_shaped_filter_values_match_nothing(scim, alice, filter_):
    """Filter values are data: quotes, SQL and LIKE wildcards in them match literally."""
    response = scim.get(f"/Users?filter={quote(filter_)}")

    if response.status_code == 400:
        assert_error(response, 400, "invalidFilter")
    else:
        assert assert_list_response(response)["totalResults"] == 0
    assert scim.read(f"/Users/{alice['id']}")["userName"] == "alice@riverside.test"


@pytest.mark.parametrize(
    "query",
    [
        "startIndex=abc",
        "count=abc",
        "count=-5",
        "startIndex=-5",
        "startIndex=0",
        "count=99999999999999999999",
        "startIndex=99999999999999999999",
        "count=1.5",
        "attributes=",
        "excludedAttributes=",
        "attributes=nonexistent",
        "sortBy=userName&sortOrder=sideways",
        "filter=",
    ],
)
def test_odd_query_parameters_never_fail_the_server(scim, alice, query):
    """RFC 7644 §3.4.2.4 says how to read a negative ``count`` or ``startIndex < 1``; anything
    unparseable may be refused. Never a 5xx."""
    response = scim.get(f"/Users?{query}")

    if response.status_code == 400:
        assert_error(response, 400)
    else:
        body = assert_list_response(response)
        assert body["totalResults"] == 1


# Content types ------------------------------------------------------------------------------

BOB = {"schemas": [USER], "userName": "bob@riverside.test"}


@pytest.mark.parametrize(
    "content_type",
    [
        SCIM_JSON,
        "application/json",
        "application/scim+json; charset=utf-8",
        "application/json; charset=UTF-8",
    ],
)
def test_scim_and_plain_json_content_types_are_accepted(scim, content_type):
    """RFC 7644 §3.1/§8.1 and Microsoft's real requests (docs/azure-scim-client.md §3.1)."""
    response = scim.post("/Users", BOB, headers={"Content-Type": content_type})

    assert response.status_code == 201, describe(response)
    assert response.headers["Content-Type"].startswith(SCIM_JSON)


@pytest.mark.parametrize(
    "content_type, raw",
    [
        ("application/xml", b"<User><userName>bob@riverside.test</userName></User>"),
        ("application/x-www-form-urlencoded", b"userName=bob%40riverside.test"),
        (
            "multipart/form-data; boundary=xyz",
            b'--xyz\r\nContent-Disposition: form-data; name="userName"\r\n\r\nbob\r\n--xyz--\r\n',
        ),
        ("text/plain", b"userName=bob@riverside.test"),
    ],
)
def test_non_json_bodies_are_refused(scim, alice, content_type, raw):
    assert_client_error(scim.post("/Users", raw=raw, headers={"Content-Type": content_type}))

    assert user_count(scim) == 1


def test_unknown_endpoint_under_the_tenant_is_a_scim_404(scim):
    """RFC 7644 §3.12; scim2-tester checks a random URL under the base gets a SCIM 404."""
    assert_error(scim.get(f"/{uuid.uuid4()}"), 404)
    assert_error(scim.get("/Users/a/b/c"), 404)


@pytest.mark.parametrize(
    "path",
    [
        "/scim/v2/not-a-uuid/Users",
        "/scim/v2/Users",
        "/scim/v2/",
        "/scim/v2/11111111-2222-3333-4444-55555555555/Users",
    ],
)
def test_mistyped_tenant_urls_get_a_scim_error_not_html(scim, gunicorn_server, path):
    """A customer who pastes a truncated or base tenant URL gets a SCIM error body (RFC 7644
    §3.12) that Azure can show, not Django's HTML 404 page."""
    response = scim.session.get(gunicorn_server.url + path, timeout=30)

    assert_error(response, 404)


def test_bulk_is_refused_with_a_scim_error(scim, alice):
    """``bulk.supported`` is false; RFC 7644 §3.12 lists 501 for an unsupported operation."""
    response = scim.post(
        "/Bulk",
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
            "Operations": [
                {
                    "method": "POST",
                    "path": "/Users",
                    "bulkId": "1",
                    "data": {"schemas": [USER], "userName": "bob@riverside.test"},
                }
            ],
        },
    )

    assert_error(response, 501)
    assert user_count(scim) == 1


def test_wrong_methods_get_a_scim_405(scim, alice):
    for method, path in (
        ("DELETE", "/Users"),
        ("PUT", "/Users"),
        ("PATCH", "/Groups"),
        ("POST", f"/Users/{alice['id']}"),
        ("DELETE", "/Schemas"),
        ("POST", "/ServiceProviderConfig"),
    ):
        assert_error(scim.request(method, path, {"schemas": [USER]}), 405)
    assert user_count(scim) == 1
    assert scim.read(f"/Users/{alice['id']}")["userName"] == "alice@riverside.test"


# Huge input ---------------------------------------------------------------------------------


def test_body_declared_too_large_is_refused_with_a_scim_413(scim, alice, settings):
    """A Content-Length over ``MAX_REQUEST_BODY_BYTES`` (gunicorn reads the same environment)
    is refused before the body is read: RFC 7644 §3.12 lists 413 for too large a payload."""
    url = urlsplit(scim.url("/Users"))
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    try:
        connection.putrequest("POST", url.path)
        connection.putheader("Authorization", f"Bearer {scim.token}")
        connection.putheader("Content-Type", SCIM_JSON)
        connection.putheader("Content-Length", str(settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1))
        connection.endheaders()
        response = connection.getresponse()
        status, content_type, body = (
            response.status,
            response.getheader("Content-Type"),
            json.loads(response.read()),
        )
    finally:
        connection.close()

    assert (status, content_type.split(";")[0]) == (413, SCIM_JSON)
    assert body["schemas"] == [ERROR] and body["status"] == "413"
    assert user_count(scim) == 1


def test_huge_body_sent_whole_never_creates_anything(scim, alice, settings):
    """Sent whole, the refusal may race the upload (the server closes without reading the
    rest), so the client sees the SCIM 413 or a closed connection, never a success or a 5xx."""
    raw = json.dumps(
        {
            "schemas": [USER],
            "userName": "bob@riverside.test",
            "title": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1024),
        }
    ).encode()

    try:
        response = requests.post(
            scim.url("/Users"),
            data=raw,
            timeout=30,
            headers={"Authorization": f"Bearer {scim.token}", "Content-Type": SCIM_JSON},
        )
    except requests.ConnectionError:
        pass
    else:
        assert_error(response, 413)
    assert user_count(scim) == 1


@pytest.mark.parametrize("attribute", ["userName", "displayName", "title", "externalId"])
def test_very_long_strings_are_stored_or_refused_cleanly(scim, alice, attribute):
    """A 5,000-character value either reads back exactly or is refused with a 400."""
    long_value = "a" * 4990 + "@x.test"
    body = {"schemas": [USER], "userName": "bob@riverside.test", attribute: long_value}

    response = scim.post("/Users", body)

    if response.status_code == 201:
        assert scim.read(f"/Users/{response.json()['id']}")[attribute] == long_value
    else:
        assert_error(response, 400)
        assert user_count(scim) == 1


def test_nul_character_in_a_string_is_refused(scim, alice):
    """PostgreSQL text cannot hold NUL: a 400 on every database, not a database error."""
    response = scim.post("/Users", {"schemas": [USER], "userName": "bob\u0000@riverside.test"})

    assert_error(response, 400, "invalidValue")
    assert user_count(scim) == 1


def test_nan_infinity_and_lone_surrogates_are_refused(scim, alice):
    for raw in (
        b'{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], '
        b'"userName": "bob@riverside.test", "title": Infinity}',
        b'{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], '
        b'"userName": "bob\\ud800@riverside.test"}',
    ):
        assert_error(scim.post("/Users", raw=raw), 400)
    assert user_count(scim) == 1


def test_many_emails_or_members_are_handled_without_a_server_error(scim, team, alice):
    many_emails = [{"type": f"t{n}", "value": f"bob{n}@riverside.test"} for n in range(500)]
    response = scim.post(
        "/Users", {"schemas": [USER], "userName": "bob@riverside.test", "emails": many_emails}
    )
    assert response.status_code == 201, describe(response)

    unknown = [{"value": str(uuid.uuid4())} for _ in range(5000)]
    response = scim.patch_ops(
        f"/Groups/{team['id']}", {"op": "add", "path": "members", "value": unknown}
    )
    assert_client_error(response)
    assert scim.member_ids(team["id"]) == {alice["id"]}


# PUT ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {"schemas": [USER], "displayName": "No userName"},
        {"schemas": [USER], "userName": "", "displayName": "Empty"},
        {"schemas": [USER], "userName": "alice@riverside.test", "active": "sometimes"},
        {"schemas": [USER], "userName": "alice@riverside.test", "emails": "alice@elsewhere.test"},
        {"schemas": [USER], "userName": "alice@riverside.test", "emails": {"value": "x@y.test"}},
    ],
    ids=["no-username", "empty-username", "bad-active", "emails-string", "emails-object"],
)
def test_bad_put_of_a_user_changes_nothing(scim, alice, body):
    assert_error(scim.put(f"/Users/{alice['id']}", body), 400)

    assert_alice_unchanged(scim, alice)


def test_put_of_a_group_with_unknown_member_or_taken_name_changes_nothing(scim, team, alice):
    other = scim.create_group("Other")

    assert_error(
        scim.put(
            f"/Groups/{team['id']}",
            {
                "schemas": [GROUP],
                "displayName": "Team",
                "members": [{"value": alice["id"]}, {"value": str(uuid.uuid4())}],
            },
        ),
        400,
    )
    assert_error(
        scim.put(f"/Groups/{other['id']}", {"schemas": [GROUP], "displayName": "TEAM"}),
        409,
        "uniqueness",
    )
    assert_error(scim.put(f"/Groups/{team['id']}", {"schemas": [GROUP]}), 400)

    assert scim.member_ids(team["id"]) == {alice["id"]}
    assert scim.read(f"/Groups/{team['id']}")["displayName"] == "Team"
    assert scim.read(f"/Groups/{other['id']}")["displayName"] == "Other"


def test_put_or_patch_of_an_unknown_id_is_404_and_creates_nothing(scim, alice, team):
    missing = str(uuid.uuid4())

    assert_error(scim.put(f"/Users/{missing}", {"schemas": [USER], "userName": "x@y.test"}), 404)
    assert_error(
        scim.patch_ops(f"/Users/{missing}", {"op": "replace", "path": "active", "value": False}),
        404,
    )
    assert_error(scim.put(f"/Groups/{missing}", {"schemas": [GROUP], "displayName": "X"}), 404)
    assert_error(
        scim.patch_ops(
            f"/Groups/{missing}",
            {"op": "add", "path": "members", "value": [{"value": alice["id"]}]},
        ),
        404,
    )

    assert user_count(scim) == 1
    assert group_count(scim) == 1
