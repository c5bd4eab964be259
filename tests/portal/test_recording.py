from __future__ import annotations

import logging
import uuid

import pytest

from organizations.models import Organization
from portal.models import SyncEvent
from scim.calls import Operation

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.portal.fake_scim_urls")]

CREATE_ANN = {
    "operation": "create_user",
    "resource_type": "User",
    "resource_id": "u-1",
    "external_id": "ext-1",
    "display_name": "ann@riverside.test",
}


def test_records_a_successful_create_with_token_label_and_prefix(fake_scim, token):
    response = fake_scim.send("POST", "Users", {"status": 201, "event": CREATE_ANN})

    event = SyncEvent.objects.get()
    assert response.status_code == 201
    assert (event.operation, event.status_code, event.succeeded) == ("create_user", 201, True)
    assert (event.subject, event.resource_id, event.external_id) == (
        "ann@riverside.test",
        "u-1",
        "ext-1",
    )
    assert event.token_id == token[0].pk
    assert event.token_label == "Azure AD"
    assert event.token_prefix == token[0].display_prefix
    assert event.method == "POST"
    assert event.summary == "Create user “ann@riverside.test”"
    assert event.duration_ms > 0


def test_returns_the_recorded_request_id_in_a_header(fake_scim):
    response = fake_scim.send("GET", "Users", {"event": {"operation": "list_users"}})

    assert response["X-Request-ID"] == SyncEvent.objects.get().request_id


def test_echoes_a_sane_incoming_request_id(fake_scim):
    response = fake_scim.send("GET", "Users", {}, request_id="azure-abc-12345678")

    assert response["X-Request-ID"] == "azure-abc-12345678"


def test_replaces_an_unsafe_incoming_request_id(fake_scim):
    response = fake_scim.send("GET", "Users", {}, request_id="<script>alert(1)</script>")

    assert response["X-Request-ID"] != "<script>alert(1)</script>"
    assert len(response["X-Request-ID"]) == 32


def test_records_a_failure_with_scim_error_type_and_detail(fake_scim):
    fake_scim.send(
        "POST",
        "Users",
        {
            "status": 400,
            "scim_type": "invalidValue",
            "detail": "emails is malformed",
            "event": CREATE_ANN,
        },
    )

    event = SyncEvent.objects.get()
    assert (event.status_code, event.succeeded) == (400, False)
    assert (event.error_type, event.error_detail) == ("invalidValue", "emails is malformed")


def test_records_a_write_that_failed_and_rolled_back(fake_scim):
    response = fake_scim.send("POST", "Users", {"fail_after_write": True, "event": CREATE_ANN})

    assert response.status_code == 409
    assert not Organization.objects.filter(slug="rolled-back").exists()
    event = SyncEvent.objects.get()
    assert (event.operation, event.status_code, event.error_type) == (
        "create_user",
        409,
        "uniqueness",
    )


def test_records_a_view_that_crashed_as_a_server_error(fake_scim):
    response = fake_scim.send("POST", "Users", {"crash": True, "event": CREATE_ANN})

    assert response.status_code == 500
    assert SyncEvent.objects.get().status_code == 500


def test_does_not_record_requests_to_an_unknown_tenant(client):
    response = client.get(f"/scim/v2/{uuid.uuid4()}/Users", HTTP_AUTHORIZATION="Bearer x")

    assert response.status_code == 401
    assert not SyncEvent.objects.exists()


def test_does_not_record_portal_requests(client):
    client.get("/portal/login/")

    assert not SyncEvent.objects.exists()


def test_describes_an_update_with_old_and_new_values(fake_scim):
    fake_scim.send(
        "PATCH",
        "Users/u-1",
        {
            "event": {
                "operation": "update_user",
                "resource_type": "User",
                "display_name": "ann@riverside.test",
                "changes": [{"attribute": "title", "old": "Nurse", "new": "Head nurse"}],
            }
        },
    )

    event = SyncEvent.objects.get()
    assert event.changes == [{"attribute": "title", "old": "Nurse", "new": "Head nurse"}]
    assert event.summary == "Update user “ann@riverside.test”: title “Nurse” → “Head nurse”"


def test_describes_membership_changes_in_words(fake_scim):
    fake_scim.send(
        "PATCH",
        "Groups/g-1",
        {
            "status": 204,
            "event": {
                "operation": "update_members",
                "resource_type": "Group",
                "display_name": "Nurses",
                "members_added": 3,
                "members_removed": 1,
            },
        },
    )

    assert SyncEvent.objects.get().summary == (
        "Add 3 members to and remove 1 member from group “Nurses”"
    )


def test_recognises_azure_test_connection(fake_scim):
    query = "?filter=userName+eq+%227d420df3-9995-4831-a406-ecf8166f5f6a%22"
    fake_scim.send(
        "GET", "Users", {"event": {"operation": "list_users", "results": 0}}, query=query
    )

    event = SyncEvent.objects.get()
    assert event.operation == Operation.TEST_CONNECTION
    assert event.filter == 'userName eq "7d420df3-9995-4831-a406-ecf8166f5f6a"'
    assert "?" not in event.path


def test_a_lookup_that_finds_a_user_is_not_a_test_connection(fake_scim):
    query = "?filter=userName+eq+%22ann%40riverside.test%22"
    fake_scim.send(
        "GET", "Users", {"event": {"operation": "list_users", "results": 1}}, query=query
    )

    assert SyncEvent.objects.get().operation == Operation.LIST_USERS


def test_a_password_value_never_reaches_the_history(fake_scim):
    fake_scim.send(
        "PATCH",
        "Users/u-1",
        {
            "event": {
                "operation": "update_user",
                "resource_type": "User",
                "changes": [{"attribute": "password", "old": None, "new": "Hunter2-secret"}],
            }
        },
    )

    assert SyncEvent.objects.get().changes == [
        {"attribute": "password", "old": None, "new": "[redacted]"}
    ]


def test_the_token_never_reaches_the_history_nor_the_logs(fake_scim, token, caplog):
    plaintext = token[1]
    caplog.set_level(logging.DEBUG)

    fake_scim.send("POST", "Users", {"status": 201, "event": CREATE_ANN})
    fake_scim.send("POST", "Users", {"fail_after_write": True, "event": CREATE_ANN})
    fake_scim.send("GET", "Users", token=plaintext[:-1] + ("y" if plaintext.endswith("x") else "x"))

    secret = plaintext[len("k2p_") + 13 : -6]  # also in the mistyped token sent last
    assert SyncEvent.objects.count() == 2
    for row in SyncEvent.objects.values():
        assert secret not in repr(row)
    assert secret not in caplog.text


def test_a_recording_error_never_costs_azure_its_answer(fake_scim, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("database unavailable")

    monkeypatch.setattr("portal.services.record_sync_event", broken)

    response = fake_scim.send("POST", "Users", {"status": 201, "event": CREATE_ANN})

    assert response.status_code == 201
    assert "could not record sync event" in caplog.text


def test_the_history_and_the_logs_share_one_request_id(fake_scim, caplog):
    caplog.set_level(logging.INFO, logger="kno2prov.access")

    response = fake_scim.send("GET", "Users", {}, request_id="<not sane>")

    event = SyncEvent.objects.get()
    assert response["X-Request-ID"] == event.request_id
    assert any(getattr(r, "request_id", None) == event.request_id for r in caplog.records)


def test_an_operation_this_release_does_not_know_is_summarized_by_its_name():
    from portal.explanations import summarize

    assert summarize("merge_users", subject="ann@riverside.test") == (
        "merge_users “ann@riverside.test”"
    )
