"""The checks of Microsoft's SCIM Validator (docs/azure-scim-client.md §2.8, and the validator
requests third parties logged), over real HTTP against gunicorn.

The ``test_workflow_NN_*`` tests encode Microsoft's gallery validator request for request, with
its pass criteria: AzureAD/SCIMReferenceCode,
``Microsoft.SCIM.LogicAppValidationTemplate/StandardLogicApp/SCIMTests_Workflow.json`` @
805b036f14b29c7234d0b19426df892eba7567e4 (tests 15-24), ``SCIM-Validation-Test-Overview.md``
(test 25), ``Orchestrator_Parameters.json`` and ``SCIMTests_WorkloadIdentityFederation_Setup.md``
in the same folder (quoted in /work/briefs/research18.md §1).
"""

from __future__ import annotations

import copy
import json
import uuid

import pytest
import requests

from oauth import federation
from oauth import services as oauth
from tests import factories
from tests.entra_issuer import EntraLikeIssuer, validator_form
from tests.schemas import ENTERPRISE, GROUP, USER
from tests.scim_client import assert_error, assert_list_response, describe

from .azure import (
    CREATE_GROUP,
    CREATE_USER,
    ENTRA_DEFAULT_GROUP_TARGETS,
    ENTRA_DEFAULT_USER_TARGETS,
    assert_no_content,
    assert_user_patched,
    create_ms_group,
    create_ms_user,
    patch_body,
    validator_lookup,
    validator_missing,
    work_emails,
)
from .oauth import request_token

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


# Microsoft's gallery validator, SCIMTests_Workflow.json, tests 15-25 request for request ----
#
# Source: AzureAD/SCIMReferenceCode,
# Microsoft.SCIM.LogicAppValidationTemplate/StandardLogicApp/SCIMTests_Workflow.json @ 805b036f
# (tests 15-24), SCIM-Validation-Test-Overview.md (test 25, SCIM_Update_Manager_Test, which has
# no stored JSON), Orchestrator_Parameters.json (scimContentType, scimTargetUserValues[1]) and
# SCIMTests_WorkloadIdentityFederation_Setup.md. Every request carries
# ``Accept``/``Content-Type: application/scim+json`` (the default scimContentType). The bodies
# are built by the workflow's own rules from the Entra app's mapped target attributes; those
# are Entra's default customappsso mapping (``azure.ENTRA_DEFAULT_USER_TARGETS``). Each test
# ends with the workflow's pass criterion (its ``overallResult`` expression).

VALIDATOR_HEADERS = {"Accept": "application/scim+json"}


def _hex8() -> str:
    return uuid.uuid4().hex[:8]


def validator_user_body(user_name: str, external_id: str) -> dict:
    """SCIM_Null_Update_Test's create body: the base object plus every mapped target but
    manager/userName/active/externalId/roles; ``[type eq "x"]`` targets become array items
    ``{"type", "primary", <sub>}``, enterprise targets nest under the URN."""
    body: dict = {
        "schemas": [USER, ENTERPRISE],
        "userName": user_name,
        "active": True,
        "externalId": external_id,
    }
    for target in ENTRA_DEFAULT_USER_TARGETS:
        if target in {"userName", "active", "externalId"} or target.endswith(":manager"):
            continue
        value = f"v-{_hex8()}"
        if target.startswith(ENTERPRISE):
            body.setdefault(ENTERPRISE, {})[target.rsplit(":", 1)[1]] = value
        elif "[type eq" in target:
            attr, rest = target.split("[type eq ", 1)
            kind, sub = rest.split('"].', 1)
            kind = kind.strip('"')
            items = body.setdefault(attr, [])
            item = next((i for i in items if i["type"] == kind), None)
            if item is None:
                item = {"type": kind, "primary": not items}
                items.append(item)
            item[sub] = value
        elif "." in target:
            parent, sub = target.split(".", 1)
            body.setdefault(parent, {})[sub] = value
        else:
            body[target] = value
    return body


def _read_target(body: dict, target: str) -> object:
    """The workflow's per-path readback for the null test."""
    if "[type eq" in target:
        attr, rest = target.split("[type eq ", 1)
        kind = rest.split('"]', 1)[0].strip('"')
        sub = rest.split("].", 1)[1] if "]." in rest else "value"
        item = next((i for i in body.get(attr) or [] if i.get("type") == kind), {})
        return item.get(sub)
    if target.startswith("urn:"):
        return (body.get(ENTERPRISE) or {}).get(target.rsplit(":", 1)[1])
    if "." in target:
        parent, sub = target.split(".", 1)
        return (body.get(parent) or {}).get(sub)
    return body.get(target)


def test_workflow_15_schema_discoverability(scim):
    response = scim.get("/Schemas", headers=VALIDATOR_HEADERS)
    body = response.json()
    users = validator_lookup(body, USER, ENTERPRISE)
    groups = validator_lookup(body, GROUP)
    assert response.status_code == 200
    assert len(body.get("Resources") or []) > 0
    assert validator_missing(users, ENTRA_DEFAULT_USER_TARGETS) == []
    assert validator_missing(groups, ENTRA_DEFAULT_GROUP_TARGETS) == []


def test_workflow_16_null_update_both_phases_on_one_user(scim):
    hex8 = _hex8()
    created = scim.post(
        "/Users",
        validator_user_body(f"scnull{hex8}@testuser.com", f"scnull{hex8}"),
        headers=VALIDATOR_HEADERS,
    )
    assert created.status_code == 201, describe(created)
    user_id = created.json()["id"]
    schemas = scim.get("/Schemas", headers=VALIDATOR_HEADERS).json()
    required = {
        a["name"].lower()
        for s in schemas["Resources"]
        for a in s["attributes"]
        if a.get("required")
    }
    targets = [
        t
        for t in ENTRA_DEFAULT_USER_TARGETS
        if t not in {"userName", "active", "externalId"}
        and not t.endswith(":manager")
        and t.lower() not in required
    ]

    def ops(value: object) -> dict:
        return patch_body(*({"op": "replace", "path": t, "value": value} for t in targets))

    phase1 = scim.patch(f"/Users/{user_id}", ops(""), headers=VALIDATOR_HEADERS)
    after1 = scim.read(f"/Users/{user_id}")
    failed1 = [t for t in targets if _read_target(after1, t) not in ("", None)]
    phase2 = scim.patch(f"/Users/{user_id}", ops(None), headers=VALIDATOR_HEADERS)
    after2 = scim.read(f"/Users/{user_id}")
    failed2 = [t for t in targets if "[" not in t and _read_target(after2, t) is not None]

    assert phase1.status_code in (200, 204) and failed1 == []
    assert phase2.status_code in (200, 204) and failed2 == []
    assert scim.delete(f"/Users/{user_id}").status_code == 204


def test_workflow_17_user_create_returns_the_exact_user_name(scim):
    user_name = f"lascuser{_hex8()}@testuser.com"
    body = {**validator_user_body("x", f"ext{_hex8()}"), "userName": user_name}
    response = scim.post("/Users", body, headers=VALIDATOR_HEADERS)
    assert response.status_code in (200, 201)
    assert response.json().get("id")
    assert response.json()["userName"] == user_name
    assert scim.delete(f"/Users/{response.json()['id']}").status_code == 204


def test_workflow_19_group_create(scim):
    hex8 = _hex8()
    body = {"schemas": [GROUP], "displayName": f"LASCDirectGroup-{hex8}", "externalId": hex8}
    response = scim.post("/Groups", body, headers=VALIDATOR_HEADERS)
    assert response.status_code in (200, 201)
    assert response.json().get("id")
    assert response.json()["displayName"] == f"LASCDirectGroup-{hex8}"
    assert scim.delete(f"/Groups/{response.json()['id']}").status_code == 204


# Orchestrator_Parameters.json, scimTargetUserValues[1] (the values it names for our targets).
UPDATE_VALUES = {
    "title": "Senior Engineer",
    "name.givenName": "UpdatedFirst",
    "preferredLanguage": "en-GB",
    'addresses[type eq "work"].postalCode': "EC1A 1BB",
}


def test_workflow_18_user_update_replaces_every_single_valued_string(scim):
    created = scim.post(
        "/Users",
        validator_user_body(f"lasupduser{_hex8()}@testuser.com", _hex8()),
        headers=VALIDATOR_HEADERS,
    )
    user_id = created.json()["id"]
    skipped = {"id", "schemas", "meta", "active", "groups", "roles"}
    values = {
        t: UPDATE_VALUES.get(t, f"upd-{_hex8()}")
        for t in ENTRA_DEFAULT_USER_TARGETS
        if t not in skipped and not t.endswith(":manager")
    }
    body = patch_body(*({"op": "Replace", "path": t, "value": v} for t, v in values.items()))
    response = scim.patch(f"/Users/{user_id}", body, headers=VALIDATOR_HEADERS)
    read = scim.get(f"/Users/{user_id}", headers=VALIDATOR_HEADERS)
    after = read.json()

    def mismatch(target: str, value: str) -> bool:
        if "[" in target:
            return value not in json.dumps(after.get(target.split("[", 1)[0]))
        if target.startswith("urn:"):
            return (after.get(ENTERPRISE) or {}).get(target.rsplit(":", 1)[1]) != value
        if "." in target:
            parent, sub = target.split(".", 1)
            return (after.get(parent) or {}).get(sub) != value
        return after.get(target) != value

    assert response.status_code in (200, 204), describe(response)
    assert read.status_code in (200, 204)
    assert [t for t, v in values.items() if mismatch(t, v)] == []


def test_workflow_20_group_update_replaces_display_name_and_external_id(scim):
    hex8 = _hex8()
    created = scim.post(
        "/Groups",
        {"schemas": [GROUP], "displayName": f"LASUpdGroup-{hex8}", "externalId": hex8},
        headers=VALIDATOR_HEADERS,
    )
    group_id = created.json()["id"]
    values = {"displayName": f"upd-{_hex8()}", "externalId": f"upd-{_hex8()}"}
    body = patch_body(*({"op": "Replace", "path": t, "value": v} for t, v in values.items()))
    response = scim.patch(f"/Groups/{group_id}", body, headers=VALIDATOR_HEADERS)
    read = scim.get(f"/Groups/{group_id}", headers=VALIDATOR_HEADERS)
    assert response.status_code in (200, 204)
    assert read.status_code in (200, 204)
    assert {t: str(read.json().get(t)) for t in values} == values


def test_workflow_21_validate_credentials(gunicorn_server, organization, scim):
    client, secret = factories.make_oauth_client(organization)
    token = request_token(
        gunicorn_server,
        organization,
        {
            "grant_type": "client_credentials",
            "client_id": client.client_id,
            "client_secret": secret,
        },
    )
    assert 200 <= token.status_code < 300 and token.json().get("access_token")
    users = requests.get(
        f"{scim.base}/Users?startIndex=1&count=1",
        headers={**VALIDATOR_HEADERS, "Authorization": f"Bearer {token.json()['access_token']}"},
        timeout=30,
    )
    assert 200 <= users.status_code < 300


@pytest.fixture(scope="module")
def entra():
    running = EntraLikeIssuer()
    yield running
    running.stop()


@pytest.mark.parametrize("version", ["2.0", "1.0"])
def test_workflow_22_federated_identity(
    gunicorn_server, organization, scim, settings, entra, version
):
    """The ISV side set up as SCIMTests_WorkloadIdentityFederation_Setup.md's table says: issuer
    ``https://login.microsoftonline.com/<tenantId>`` (no /v2.0), subject the service principal's
    object id, audience the bare Application (client) ID. Step ``Acquire_Federated_Token``
    posts Entra's access token (v2 as the setup's manifest asks; v1 when it is left unset,
    requested for ``api://<app>/.default``) with no scope and a ``baseAddress``."""
    settings.ENTRA_AUTHORITY_HOST = entra.base
    federation.forget_cached_keys()
    tenant, app_id, principal = (
        str(organization.sso_tenant_id),
        str(uuid.uuid4()),
        str(uuid.uuid4()),
    )
    client = oauth.configure_workload_identity(
        organization,
        issuer=f"{entra.base}/{tenant}",
        subject=principal,
        audience=app_id,
        actor=None,
    )
    if version == "2.0":
        claims = entra.claims(tenant, subject=principal, audience=app_id)
    else:
        claims = entra.v1_claims(tenant, subject=principal, audience=f"api://{app_id}")
    assert "jti" not in claims and claims["ver"] == version
    form = validator_form(entra.sign(claims), client.client_id, scim.base)
    response = request_token(gunicorn_server, organization, form)
    assert 200 <= response.status_code < 300, response.text
    assert response.json().get("access_token", "") != ""


def _walk_pages(scim, resource: str) -> tuple[int, list[int]]:
    """The workflow's loop: at most 10 pages of count=5, next startIndex = startIndex +
    len(Resources); a page fails unless 200 with startIndex == page*5+1."""
    url, page, failed = f"/{resource}?startIndex=1&count=5", 0, []
    while url and page < 10:
        response = scim.get(url, headers=VALIDATOR_HEADERS)
        body = response.json()
        if response.status_code != 200 or body.get("startIndex") != page * 5 + 1:
            failed.append(page)
        got = len(body.get("Resources") or [])
        next_start = body.get("startIndex", 0) + got
        url = (
            f"/{resource}?startIndex={next_start}&count=5"
            if got and next_start <= body.get("totalResults", 0)
            else ""
        )
        page += 1
    return page, failed


def test_workflow_23_user_pagination(scim):
    first = scim.get("/Users?startIndex=1&count=5", headers=VALIDATOR_HEADERS).json()
    created = []
    for _ in range(11 - first["totalResults"]):
        hex8 = _hex8()
        body = {
            **validator_user_body(f"paguser{hex8}@testuser.com", hex8),
            "displayName": f"PagUser {hex8}",
        }
        created.append(scim.post("/Users", body, headers=VALIDATOR_HEADERS).json()["id"])
    pages, failed = _walk_pages(scim, "Users")
    assert pages >= 2 and failed == []
    assert all(scim.delete(f"/Users/{i}").status_code == 204 for i in created)


def test_workflow_24_group_pagination(scim):
    first = scim.get("/Groups?startIndex=1&count=5", headers=VALIDATOR_HEADERS).json()
    created = []
    for _ in range(11 - first["totalResults"]):
        hex8 = _hex8()
        body = {"schemas": [GROUP], "displayName": f"PagGroup {hex8}", "externalId": hex8}
        created.append(scim.post("/Groups", body, headers=VALIDATOR_HEADERS).json()["id"])
    pages, failed = _walk_pages(scim, "Groups")
    assert pages >= 2 and failed == []
    assert all(scim.delete(f"/Groups/{i}").status_code == 204 for i in created)


@pytest.mark.parametrize("empty", ["", None])
def test_workflow_25_manager_set_change_and_remove_by_replace_with_empty(scim, empty):
    """SCIM-Validation-Test-Overview.md: set (Add), change (Replace), remove (Replace with
    empty); each PATCH 200/204, and a GET after each shows the expected manager."""
    first = scim.create_user(f"mgr1{_hex8()}@testuser.com")
    second = scim.create_user(f"mgr2{_hex8()}@testuser.com")
    report = scim.create_user(f"report{_hex8()}@testuser.com")
    path, manager_path = f"/Users/{report['id']}", f"{ENTERPRISE}:manager"

    def manager() -> str | None:
        return (scim.read(path).get(ENTERPRISE) or {}).get("manager", {}).get("value")

    steps = [
        ({"op": "Add", "path": manager_path, "value": first["id"]}, first["id"]),
        ({"op": "Replace", "path": manager_path, "value": second["id"]}, second["id"]),
        ({"op": "Replace", "path": manager_path, "value": empty}, None),
    ]
    results = []
    for operation, expected in steps:
        status = scim.patch(path, patch_body(operation), headers=VALIDATOR_HEADERS).status_code
        results.append((status in (200, 204), manager() == expected))
    assert results == [(True, True)] * 3
