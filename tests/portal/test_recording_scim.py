"""Recording through the real SCIM endpoints of ``scim/`` (the contract, end to end)."""

from __future__ import annotations

import logging

import pytest
from django.test import Client

from core.credentials import AuthenticatedCredential
from portal.models import FailedAuthenticationCount, SyncCycle, SyncEvent
from scim.calls import Operation, ScimCall
from scim.models import ScimUser
from tests import factories
from tests.schemas import GROUP as GROUP_SCHEMA
from tests.schemas import PATCH_OP
from tests.schemas import USER as USER_SCHEMA
from tests.scim_client import ScimClient

# Transactional, as in production: each SCIM request commits or rolls back on its own, and
# the history is written after it, outside its transaction.
pytestmark = pytest.mark.django_db(transaction=True)

ANN = {
    "schemas": [USER_SCHEMA],
    "userName": "ann@riverside.test",
    "externalId": "ann",
    "active": True,
    "displayName": "Ann Lee",
    "emails": [{"type": "work", "value": "ann@riverside.test", "primary": True}],
}


@pytest.fixture
def scim(organization, token):
    """``scim(method, path, body, bearer=…, query=…)`` through the shared SCIM client; a server
    error comes back as a response, as gunicorn would send it."""
    client = ScimClient.in_process(organization, token[1], Client(raise_request_exception=False))

    def call(
        method: str,
        path: str,
        body: dict | None = None,
        *,
        bearer: str | None = None,
        query: dict | None = None,
    ):
        headers = {"Authorization": f"Bearer {bearer}"} if bearer else None
        if method != "GET" and body is None:
            body = {}
        return client.request(method, path, body, params=query, headers=headers)

    return call


def test_a_create_is_recorded_with_the_new_users_id(scim, token):
    response = scim("POST", "/Users", ANN)

    event = SyncEvent.objects.get()
    assert response.status_code == 201
    assert event.operation == Operation.CREATE_USER
    assert event.subject == "ann@riverside.test"
    assert event.resource_id == response.json()["id"]
    assert event.token_prefix == token[0].display_prefix
    assert response["X-Request-ID"] == event.request_id


def test_a_duplicate_create_is_recorded_as_a_rolled_back_409(scim):
    scim("POST", "/Users", ANN)
    response = scim("POST", "/Users", ANN)

    failed = SyncEvent.objects.order_by("-id").first()
    assert response.status_code == 409
    assert ScimUser.objects.count() == 1
    assert (failed.operation, failed.status_code, failed.error_type) == (
        Operation.CREATE_USER,
        409,
        "uniqueness",
    )
    assert failed.subject == "ann@riverside.test"
    assert SyncCycle.objects.get().failures == 1


def test_a_deactivation_is_recorded_with_its_change(scim):
    user_id = scim("POST", "/Users", ANN).json()["id"]
    scim(
        "PATCH",
        f"/Users/{user_id}",
        {
            "schemas": [PATCH_OP],
            "Operations": [{"op": "Replace", "path": "active", "value": "False"}],
        },
    )

    event = SyncEvent.objects.order_by("-id").first()
    assert event.operation == Operation.DEACTIVATE_USER
    assert {"attribute": "active", "old": True, "new": False} in event.changes


def test_azure_test_connection_is_recognised(scim):
    scim("GET", "/Users", query={"filter": 'userName eq "7d420df3-9995-4831-a406-ecf8166f5f6a"'})

    event = SyncEvent.objects.get()
    assert (event.operation, event.status_code, event.results) == (
        Operation.TEST_CONNECTION,
        200,
        0,
    )


def _failed_authentications(organization) -> int:
    return sum(
        FailedAuthenticationCount.objects.filter(organization=organization).values_list(
            "count", flat=True
        )
    )


def test_a_refused_token_is_counted_for_the_organization_not_recorded(scim, organization):
    response = scim("GET", "/Users", bearer="k2p_wrong")

    assert response.status_code == 401
    assert not SyncEvent.objects.exists()
    assert _failed_authentications(organization) == 1


def test_a_thousand_unauthenticated_requests_leave_health_unchanged(scim, organization, settings):
    from portal.health import organization_health

    settings.SCIM_AUTH_FAILURE_RATE = "100000/5m"
    for _ in range(5):
        assert scim("GET", "/Users").status_code == 200
    before = organization_health(organization)
    client = Client()
    url = f"/scim/v2/{organization.public_id}/Users"
    forged = "k2p_" + "A" * 12 + "_" + "B" * 38
    for n in range(1000):
        headers = (
            {}
            if n % 3 == 0
            else {"HTTP_AUTHORIZATION": "Bearer " + ("not-a-token" if n % 3 == 1 else forged)}
        )
        assert client.get(url, **headers).status_code == 401

    after = organization_health(organization)
    assert (after.events, after.failures, after.level, after.findings) == (
        before.events,
        before.failures,
        before.level,
        before.findings,
    )
    assert after.failed_authentications == 1000
    assert FailedAuthenticationCount.objects.count() == 1


def test_a_forged_test_connection_leaves_the_test_connection_state_alone(scim, organization):
    from portal.health import organization_health

    guid_filter = {"filter": 'userName eq "7d420df3-9995-4831-a406-ecf8166f5f6a"'}
    assert scim("GET", "/Users", query=guid_filter).status_code == 200
    before = organization_health(organization)

    assert scim("GET", "/Users", bearer="k2p_forged", query=guid_filter).status_code == 401

    after = organization_health(organization)
    assert after.last_test_connection == before.last_test_connection
    assert after.last_test_connection.succeeded
    assert after.level == before.level


def test_429s_of_unauthenticated_traffic_are_not_recorded(scim, organization, settings):
    from django.core.cache import cache

    cache.clear()
    settings.SCIM_AUTH_FAILURE_RATE = "2/5m"
    statuses = [scim("GET", "/Users", bearer="k2p_wrong").status_code for _ in range(5)]
    cache.clear()

    assert statuses == [401, 401, 429, 429, 429]
    assert not SyncEvent.objects.exists()
    assert _failed_authentications(organization) == 2


def test_attacker_chosen_filter_request_id_and_token_are_not_stored(organization, token):
    forged = "k2p_" + "Attacker1234" + "_" + "C" * 38
    response = Client().get(
        f"/scim/v2/{organization.public_id}/Users",
        {"filter": 'userName eq "attacker-was-here"'},
        HTTP_AUTHORIZATION=f"Bearer {forged}",
        HTTP_X_REQUEST_ID="attacker-chosen-id",
    )

    assert response.status_code == 401
    assert not SyncEvent.objects.exists()
    counted = FailedAuthenticationCount.objects.get()
    stored = repr(list(FailedAuthenticationCount.objects.values()))
    assert counted.count == 1
    for chosen in ("attacker-was-here", "attacker-chosen-id", "Attacker1234"):
        assert chosen not in stored


@pytest.mark.parametrize("variant", [str.upper, lambda tenant: tenant.replace("-", "")])
def test_a_variant_of_the_tenant_url_is_attributed_to_no_organization(organization, token, variant):
    tenant = variant(str(organization.public_id))
    for bearer in (token[1], "k2p_wrong"):
        response = Client().get(f"/scim/v2/{tenant}/Users", HTTP_AUTHORIZATION=f"Bearer {bearer}")
        assert response.status_code == 404

    assert not SyncEvent.objects.exists()
    assert not FailedAuthenticationCount.objects.exists()


def test_another_organizations_token_is_counted_at_the_url_it_was_sent_to(
    scim, organization, other_organization
):
    from tests import factories

    _, theirs = factories.make_token(other_organization)

    assert scim("GET", "/Users", bearer=theirs).status_code == 401

    assert not SyncEvent.objects.exists()
    assert _failed_authentications(organization) == 1
    assert _failed_authentications(other_organization) == 0


def test_the_credential_of_each_event_is_recorded(scim, token):
    scim("GET", "/Users")

    event = SyncEvent.objects.get()
    assert (event.credential_kind, event.credential_id) == (
        "secret_token",
        token[0].display_prefix,
    )


def test_no_token_reaches_the_history_or_the_logs(scim, token, caplog):
    caplog.set_level(logging.DEBUG)
    user_id = scim("POST", "/Users", ANN).json()["id"]
    scim("POST", "/Users", ANN)
    scim(
        "PATCH",
        f"/Users/{user_id}",
        {
            "schemas": [PATCH_OP],
            "Operations": [{"op": "Replace", "path": "displayName", "value": "Ann Lee-Smith"}],
        },
    )
    # Another last character (never the same one, or the token would still be valid).
    scim("GET", "/Users", bearer=token[1][:-1] + ("1" if token[1].endswith("0") else "0"))

    rows = list(SyncEvent.objects.values())
    assert len(rows) == 3
    secret = token[1].split("_", 2)[2]
    for row in rows:
        assert token[1] not in repr(row)
        assert secret not in repr(row)
    assert token[1] not in caplog.text
    assert secret not in caplog.text


def test_a_throttled_request_is_recorded_too(scim, settings):
    from django.core.cache import cache

    cache.clear()
    settings.SCIM_RATE_LIMIT = "1/60s"
    scim("GET", "/Users")
    response = scim("GET", "/Users")

    throttled = SyncEvent.objects.order_by("-id").first()
    assert response.status_code == 429
    assert (throttled.status_code, throttled.operation, throttled.succeeded) == (
        429,
        Operation.LIST_USERS,
        False,
    )
    cache.clear()


def _every_stored_row() -> str:
    """The repr of every row of the project's own apps: where a leaked secret would sit."""
    from django.apps import apps

    rows = []
    for label in ("organizations", "scim", "portal"):
        for model in apps.get_app_config(label).get_models():
            rows.extend(repr(row) for row in model.objects.values())
    return "\n".join(rows)


def test_a_refused_well_formed_token_is_stored_nowhere_nor_logged(scim, token, caplog):
    caplog.set_level(logging.DEBUG)
    refused = factories.same_key_wrong_secret(token[1])
    secret = refused[len("k2p_") + 13 :]

    response = scim(
        "GET", "/Users", bearer=refused, query={"filter": 'userName eq "ann@riverside.test"'}
    )

    assert response.status_code == 401
    stored = _every_stored_row()
    assert secret not in stored
    assert secret not in caplog.text
    assert secret not in response.content.decode()


def test_a_request_with_a_nul_byte_in_its_path_and_filter_is_still_recorded(scim):
    assert scim("GET", "/Users/%00").status_code == 404
    response = scim("GET", "/Users", query={"filter": 'userName eq "a\x00b"'})
    assert (response.status_code, response.json()["scimType"]) == (400, "invalidFilter")
    paths = list(SyncEvent.objects.order_by("created_at").values_list("path", "filter"))
    assert len(paths) == 2
    assert "\x00" not in repr(paths)
    assert paths[0][0].endswith("/Users/\ufffd")


@pytest.mark.postgres_only
def test_an_event_joins_the_open_cycle_in_one_round_trip(scim, django_assert_num_queries):
    from portal import services

    assert scim("POST", "/Users", ANN).status_code == 201
    first = SyncEvent.objects.select_related("organization").get()
    credential = AuthenticatedCredential(
        organization=first.organization,
        kind="secret_token",
        public_id="k2p_fastfastfast…",
        expires_at=None,
    )
    call = ScimCall(
        request_id="r-fast-path",
        method="GET",
        path="/scim/v2/x/Users",
        tenant=first.organization.public_id,
        operation=Operation.LIST_USERS,
        started_at=first.created_at,
        credential=credential,
        results=0,
        status_code=200,
        duration_ms=1.0,
    )
    with django_assert_num_queries(1):
        services.record_sync_event(call)
    assert SyncEvent.objects.filter(cycle=first.cycle).count() == 2
    assert SyncCycle.objects.get().events == 2


def test_events_of_one_burst_share_a_cycle_with_exact_counters(scim):
    assert scim("POST", "/Users", ANN).status_code == 201
    assert scim("POST", "/Users", ANN).status_code == 409
    user = ScimUser.objects.get()
    deactivate = {
        "schemas": [PATCH_OP],
        "Operations": [{"op": "Replace", "path": "active", "value": "False"}],
    }
    assert scim("PATCH", f"/Users/{user.scim_id}", deactivate).status_code == 200
    assert (
        scim("GET", "/Users", query={"filter": 'userName eq "ann@riverside.test"'}).status_code
        == 200
    )

    cycle = SyncCycle.objects.get()
    assert SyncEvent.objects.filter(cycle=cycle).count() == 4
    assert (cycle.events, cycle.created, cycle.deactivated, cycle.failures) == (4, 1, 1, 1)


def test_a_member_sent_twice_in_one_patch_is_added_counted_and_named_once(scim):
    from directory.models import DirectoryEvent
    from portal.models import SyncEventMember

    user_id = scim("POST", "/Users", ANN).json()["id"]
    group_id = scim("POST", "/Groups", {"schemas": [GROUP_SCHEMA], "displayName": "Nurses"}).json()[
        "id"
    ]
    twice = {
        "schemas": [PATCH_OP],
        "Operations": [
            {"op": "Add", "path": "members", "value": [{"value": user_id}, {"value": user_id}]}
        ],
    }

    assert scim("PATCH", f"/Groups/{group_id}", twice).status_code == 204

    event = SyncEvent.objects.get(operation=Operation.UPDATE_MEMBERS)
    assert event.members_added == 1
    assert list(SyncEventMember.objects.values_list("member_id", "change")) == [(user_id, "added")]
    assert DirectoryEvent.objects.filter(type="group.member_added").count() == 1
