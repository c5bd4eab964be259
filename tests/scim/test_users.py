"""/Users: Microsoft's documented requests (docs/azure-scim-client.md §2.2, §2.5) and the rules
around them."""

from __future__ import annotations

import pytest

from scim.models import ScimUser
from tests.schemas import ENTERPRISE, ERROR, SCIM_JSON
from tests.schemas import USER as CORE

from .conftest import make_user

# Reference §2.2.1, as published (it is valid JSON).
CREATE_USER = {
    "schemas": [CORE, ENTERPRISE],
    "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
    "userName": "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee",
    "active": True,
    "emails": [
        {
            "primary": True,
            "type": "work",
            "value": "Test_User_11bb11bb-cc22-dd33-ee44-55ff55ff55ff@testuser.com",
        }
    ],
    "meta": {"resourceType": "User"},
    "name": {
        "formatted": "givenName familyName",
        "familyName": "familyName",
        "givenName": "givenName",
    },
    "roles": [],
}


def create(scim, body=None):
    response = scim.post("/Users", body or CREATE_USER)
    assert response.status_code == 201, response.content
    return response.json()


def test_create_user_answers_201_with_the_user_as_microsoft_documents(scim):
    response = scim.post("/Users", CREATE_USER)

    assert response.status_code == 201
    assert response["Content-Type"] == SCIM_JSON
    body = response.json()
    # Reference §2.2.1 response, corrected (the published one has a trailing comma).
    assert body["schemas"] == [CORE]
    assert body["externalId"] == CREATE_USER["externalId"]
    assert body["userName"] == CREATE_USER["userName"]
    assert body["name"] == CREATE_USER["name"]
    assert body["active"] is True
    assert body["emails"] == CREATE_USER["emails"]
    assert body["meta"]["resourceType"] == "User"
    assert body["meta"]["created"] == body["meta"]["lastModified"]
    assert "roles" not in body


def test_created_user_gets_an_opaque_random_id_and_location_under_the_tenant_url(scim):
    body = create(scim)
    response = scim.get(f"/Users/{body['id']}")

    assert len(body["id"]) == 36 and body["id"].count("-") == 4
    expected = (
        f"https://provisioning.kno2.test/scim/v2/{scim.organization.public_id}/Users/{body['id']}"
    )
    assert body["meta"]["location"] == expected
    assert response["Location"] == expected


def test_create_user_with_taken_username_in_other_case_answers_409_uniqueness(scim):
    create(scim)

    response = scim.post("/Users", {**CREATE_USER, "userName": CREATE_USER["userName"].upper()})

    assert response.status_code == 409
    assert response.json() == {
        "schemas": [ERROR],
        "status": "409",
        "scimType": "uniqueness",
        "detail": response.json()["detail"],
    }
    assert ScimUser.objects.count() == 1


def test_same_username_may_exist_in_two_organizations(scim, other_scim):
    create(scim)

    assert other_scim.post("/Users", CREATE_USER).status_code == 201


def test_get_user_returns_the_user_as_created(scim):
    created = create(scim)

    response = scim.get(f"/Users/{created['id']}")

    assert response.status_code == 200
    # Reference §2.2.2 response, corrected (trailing comma).
    assert response.json() == created


def test_get_unknown_user_answers_404_with_scim_error(scim):
    response = scim.get("/Users/5171a35d82074e068ce2")

    assert response.status_code == 404
    body = response.json()
    assert body["schemas"] == [ERROR]
    assert body["status"] == "404"


def test_get_user_of_other_organization_answers_404(scim, other_scim):
    foreign = make_user(other_scim.organization, "bob@lakeside.example")

    response = scim.get(f"/Users/{foreign.scim_id}")

    assert response.status_code == 404
    assert b"bob" not in response.content


def test_user_without_email_has_no_emails_attribute(scim):
    body = create(scim, {"userName": "noemail@riverside.example"})

    assert "emails" not in body


def test_enterprise_and_custom_extension_attributes_read_back_exactly_as_sent(scim):
    custom = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User"
    sent = {
        "schemas": [CORE, ENTERPRISE, custom],
        "userName": "ext@riverside.example",
        "nickName": "Babs",
        "title": "Nurse",
        "preferredLanguage": "en-US",
        "phoneNumbers": [{"type": "work", "value": "55555555555"}],
        "addresses": [{"type": "work", "country": "ML", "primary": True}],
        ENTERPRISE: {
            "employeeNumber": "E-7",
            "department": "Cardiology",
            "manager": {"value": "mgr-1"},
        },
        custom: {"badgeColour": "green"},
    }

    body = create(scim, sent)
    fetched = scim.get(f"/Users/{body['id']}").json()

    for key in (
        "nickName",
        "title",
        "preferredLanguage",
        "phoneNumbers",
        "addresses",
        ENTERPRISE,
        custom,
    ):
        assert fetched[key] == sent[key]
    assert fetched["schemas"] == [CORE, ENTERPRISE, custom]


def test_walkthrough_create_with_nulls_and_misspelt_enterprise_urn_succeeds(scim):
    # Reference §2.5 example 2: explicit nulls and "…enterprise:2.0User" (sic).
    body = {
        "schemas": [CORE, "urn:ietf:params:scim:schemas:extension:enterprise:2.0User"],
        "externalId": "jyoung",
        "userName": "jyoung@testuser.com",
        "active": True,
        "addresses": None,
        "displayName": "Joy Young",
        "emails": [{"type": "work", "value": "jyoung@Contoso.com", "primary": True}],
        "meta": {"resourceType": "User"},
        "name": {"familyName": "Young", "givenName": "Joy"},
        "phoneNumbers": None,
        "preferredLanguage": None,
        "title": None,
        "department": None,
        "manager": None,
    }

    created = create(scim, body)

    assert created["displayName"] == "Joy Young"
    assert "addresses" not in created and "title" not in created


def test_enterprise_attributes_sent_without_their_urn_go_into_the_extension(scim):
    created = create(
        scim, {"userName": "top@riverside.example", "department": "Oncology", "manager": "boss-1"}
    )

    assert created[ENTERPRISE] == {"department": "Oncology", "manager": {"value": "boss-1"}}
    assert "department" not in created


def test_password_is_accepted_but_never_stored_or_returned(scim):
    created = create(scim, {"userName": "pw@riverside.example", "password": "Secret-123"})

    assert "password" not in created
    assert "Secret-123" not in str(ScimUser.objects.get().attributes)


def test_put_replaces_the_user(scim):
    created = create(scim)

    response = scim.put(
        f"/Users/{created['id']}",
        {
            "schemas": [CORE],
            "userName": "renamed@riverside.example",
            "active": False,
            "displayName": "Renamed",
        },
    )

    assert response.status_code == 200
    body = response.json()
    assert body["userName"] == "renamed@riverside.example"
    assert body["active"] is False
    assert "emails" not in body and "externalId" not in body
    assert body["meta"]["version"] != created["meta"]["version"]


def test_put_to_a_username_taken_by_another_user_answers_409(scim):
    make_user(scim.organization, "taken@riverside.example")
    created = create(scim)

    response = scim.put(f"/Users/{created['id']}", {"userName": "TAKEN@riverside.example"})

    assert response.status_code == 409
    assert response.json()["scimType"] == "uniqueness"


def test_put_of_other_organizations_user_answers_404_and_changes_nothing(scim, other_scim):
    foreign = make_user(other_scim.organization, "bob@lakeside.example")

    response = scim.put(f"/Users/{foreign.scim_id}", {"userName": "stolen@riverside.example"})

    assert response.status_code == 404
    foreign.refresh_from_db()
    assert foreign.user_name == "bob@lakeside.example"


def test_delete_user_answers_204_then_the_user_is_gone(scim):
    created = create(scim)

    response = scim.delete(f"/Users/{created['id']}")

    assert response.status_code == 204
    assert response.content == b""
    assert scim.get(f"/Users/{created['id']}").status_code == 404
    assert scim.delete(f"/Users/{created['id']}").status_code == 404


def test_delete_of_other_organizations_user_answers_404_and_keeps_it(scim, other_scim):
    foreign = make_user(other_scim.organization, "bob@lakeside.example")

    assert scim.delete(f"/Users/{foreign.scim_id}").status_code == 404
    assert ScimUser.objects.filter(pk=foreign.pk).exists()


@pytest.mark.parametrize("raw", ["{not json", "[]", '"text"', "", "null"])
def test_malformed_or_non_object_body_answers_400_invalid_syntax(scim, raw):
    response = scim.post("/Users", raw=raw)

    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidSyntax"


@pytest.mark.parametrize(
    "body",
    [
        {"userName": ""},
        {"userName": 42},
        {"displayName": "No userName"},
        {"userName": "x@y.z", "active": "maybe"},
        {"userName": "x@y.z", "name": "Joy Young"},
        {"userName": "x@y.z", "emails": "x@y.z"},
        {"userName": "x@y.z", "emails": ["x@y.z"]},
        {"userName": "x@y.z", "emails": {"value": "x@y.z"}},
        {"userName": "x@y.z", ENTERPRISE: "Cardiology"},
        {"userName": "x" * 300},
        {"userName": "x@y.z", "emails": [{"value": 7, "type": "work"}]},
        {"userName": "x@y.z", "name": {"givenName": ["Bob"]}},
        {"userName": "x@y.z", "nickName": 5},
        {"userName": "x@y.z", "roles": ["admin"]},
        {"userName": "x@y.z", ENTERPRISE: {"manager": 5}},
        {"userName": "x@y.z", ENTERPRISE: {"employeeNumber": 5}},
    ],
)
def test_invalid_values_answer_400_invalid_value(scim, body):
    response = scim.post("/Users", body)

    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidValue"
    assert ScimUser.objects.count() == 0


def test_active_sent_as_capitalised_string_is_stored_as_boolean(scim):
    created = create(scim, {"userName": "str@riverside.example", "active": "False"})

    assert created["active"] is False


def test_body_sent_as_plain_json_with_charset_is_accepted(scim):
    response = scim.post(
        "/Users",
        {"userName": "json@riverside.example"},
        content_type="application/json; charset=utf-8",
    )

    assert response.status_code == 201


def test_post_to_a_user_id_answers_405_with_scim_error(scim):
    created = create(scim)

    response = scim.post(f"/Users/{created['id']}", {"userName": "x@y.z"})

    assert response.status_code == 405
    assert response.json()["schemas"] == [ERROR]


def test_unknown_id_format_answers_404_not_500(scim):
    assert scim.get("/Users/not-a-uuid").status_code == 404
    assert scim.delete("/Users/'; DROP TABLE x;--").status_code == 404


def test_body_larger_than_the_upload_limit_answers_413(scim, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100

    response = scim.post("/Users", {"userName": "big@riverside.example", "title": "x" * 500})

    assert response.status_code == 413
    assert response.json()["status"] == "413"


def test_scim_content_type_with_charset_is_accepted(scim):
    response = scim.post(
        "/Users",
        {"userName": "cs@riverside.example"},
        content_type="application/scim+json; charset=utf-8",
    )

    assert response.status_code == 201


def test_duplicate_create_with_identical_payload_answers_201_then_409(scim):
    # Reference §2.8, SCIM Validator "Create Duplicate User".
    assert scim.post("/Users", CREATE_USER).status_code == 201
    assert scim.post("/Users", CREATE_USER).status_code == 409


def test_email_elements_without_a_value_are_dropped(scim):
    body = create(
        scim, {"userName": "x@riverside.example", "emails": [{"value": None, "type": "work"}]}
    )

    assert "emails" not in body


def test_attribute_names_in_any_case_come_back_in_canonical_case(scim):
    # RFC 7643 §2.1; Microsoft's Postman collection sends "Primary" in emails.
    created = create(
        scim,
        {
            "USERNAME": "p@riverside.example",
            "Emails": [{"Primary": True, "Type": "work", "Value": "p@riverside.example"}],
            "name": {"GivenName": "Ann", "FAMILYNAME": "Lee"},
            ENTERPRISE.lower(): {"DEPARTMENT": "ICU"},
        },
    )

    assert created["userName"] == "p@riverside.example"
    assert created["emails"] == [{"primary": True, "type": "work", "value": "p@riverside.example"}]
    assert created["name"] == {"givenName": "Ann", "familyName": "Lee"}
    assert created[ENTERPRISE] == {"department": "ICU"}


def test_an_unexpected_failure_answers_a_scim_500_with_a_string_status(scim, monkeypatch):
    """A bug of ours (simulated here) still gets an RFC 7644 §3.12 body: "status" a string."""
    from scim import services

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(services, "create_user", broken)
    response = scim.post("/Users", {"schemas": [CORE], "userName": "bug@riverside.example"})
    assert response.status_code == 500
    assert response.json()["status"] == "500"
    assert "a bug" not in response.content.decode()
    assert not ScimUser.objects.filter(user_name="bug@riverside.example").exists()
