"""Recording through the real SCIM endpoints of ``scim/`` (the contract, end to end)."""

from __future__ import annotations

import json
import logging

import pytest
from django.test import Client

from portal.models import Operation, SyncCycle, SyncEvent
from scim.models import ScimUser
from tests import factories

# Transactional, as in production: each SCIM request commits or rolls back on its own, and
# the history is written after it, outside its transaction.
pytestmark = pytest.mark.django_db(transaction=True)

SCIM_JSON = "application/scim+json"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ANN = {"schemas": [USER_SCHEMA], "userName": "ann@riverside.test", "externalId": "ann",
       "active": True, "displayName": "Ann Lee",
       "emails": [{"type": "work", "value": "ann@riverside.test", "primary": True}]}


@pytest.fixture
def scim(organization, token):
    client = Client(raise_request_exception=False)
    base = f"/scim/v2/{organization.public_id}"

    def call(method: str, path: str, body: dict | None = None, *, bearer: str | None = None,
             query: dict | None = None):
        headers = {"HTTP_AUTHORIZATION": f"Bearer {bearer or token[1]}"}
        if method == "GET":
            return client.get(base + path, query or {}, **headers)
        return client.generic(method, base + path, json.dumps(body or {}),
                              content_type=SCIM_JSON, **headers)

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
        Operation.CREATE_USER, 409, "uniqueness"
    )
    assert failed.subject == "ann@riverside.test"
    assert SyncCycle.objects.get().failures == 1


def test_a_deactivation_is_recorded_with_its_change(scim):
    user_id = scim("POST", "/Users", ANN).json()["id"]
    scim("PATCH", f"/Users/{user_id}", {"schemas": [PATCH_OP], "Operations": [
        {"op": "Replace", "path": "active", "value": "False"}]})

    event = SyncEvent.objects.order_by("-id").first()
    assert event.operation == Operation.DEACTIVATE_USER
    assert {"attribute": "active", "old": True, "new": False} in event.changes


def test_azure_test_connection_is_recognised(scim):
    scim("GET", "/Users",
         query={"filter": 'userName eq "7d420df3-9995-4831-a406-ecf8166f5f6a"'})

    event = SyncEvent.objects.get()
    assert (event.operation, event.status_code, event.results) == (
        Operation.TEST_CONNECTION, 200, 0
    )


def test_a_refused_token_is_recorded_as_an_auth_failure(scim, organization):
    response = scim("GET", "/Users", bearer="k2p_wrong")

    event = SyncEvent.objects.get()
    assert response.status_code == 401
    assert (event.organization, event.status_code, event.succeeded) == (
        organization, 401, False
    )


def test_no_token_reaches_the_history_or_the_logs(scim, token, caplog):
    caplog.set_level(logging.DEBUG)
    user_id = scim("POST", "/Users", ANN).json()["id"]
    scim("POST", "/Users", ANN)
    scim("PATCH", f"/Users/{user_id}", {"schemas": [PATCH_OP], "Operations": [
        {"op": "Replace", "path": "displayName", "value": "Ann Lee-Smith"}]})
    scim("GET", "/Users", bearer=token[1][:-1] + "0")

    rows = list(SyncEvent.objects.values())
    assert len(rows) == 4
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
        429, Operation.LIST_USERS, False
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
    secret = refused[len("k2p_") + 13:]

    response = scim("GET", "/Users", bearer=refused,
                    query={"filter": 'userName eq "ann@riverside.test"'})

    assert response.status_code == 401
    stored = _every_stored_row()
    assert secret not in stored
    assert secret not in caplog.text
    assert secret not in response.content.decode()


def test_a_test_connection_with_a_bad_token_turns_health_critical(scim, organization):
    from portal.health import CRITICAL, organization_health

    scim("GET", "/Users", bearer="k2p_wrong",
         query={"filter": 'userName eq "7d420df3-9995-4831-a406-ecf8166f5f6a"'})

    event = SyncEvent.objects.get()
    assert (event.operation, event.status_code) == (Operation.TEST_CONNECTION, 401)
    assert organization_health(organization).level == CRITICAL


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
    with django_assert_num_queries(1):
        services.record_sync_event(
            first.organization, at=first.created_at, request_id="r-fast-path", token=None,
            token_label="", token_prefix="", method="GET", path="/scim/v2/x/Users",
            operation=Operation.LIST_USERS, resource_type="User", resource_id="",
            external_id="", subject="", changes=[], members_added=0, members_removed=0,
            filter_text="", results=0, status_code=200, error_type="", error_detail="",
            duration_ms=1.0,
        )
    assert SyncEvent.objects.filter(cycle=first.cycle).count() == 2
    assert SyncCycle.objects.get().events == 2


def test_events_of_one_burst_share_a_cycle_with_exact_counters(scim):
    assert scim("POST", "/Users", ANN).status_code == 201
    assert scim("POST", "/Users", ANN).status_code == 409
    user = ScimUser.objects.get()
    deactivate = {"schemas": [PATCH_OP],
                  "Operations": [{"op": "Replace", "path": "active", "value": "False"}]}
    assert scim("PATCH", f"/Users/{user.scim_id}", deactivate).status_code == 200
    assert scim("GET", "/Users", query={"filter": 'userName eq "ann@riverside.test"'}
                ).status_code == 200

    cycle = SyncCycle.objects.get()
    assert SyncEvent.objects.filter(cycle=cycle).count() == 4
    assert (cycle.events, cycle.created, cycle.deactivated, cycle.failures) == (4, 1, 1, 1)
