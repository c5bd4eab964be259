"""The events pull API: after a position, paged, per organization or across organizations."""

from __future__ import annotations

import pytest
from django.test import Client

from directory import services
from tests.scim.conftest import make_group, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def platform_key():
    return services.issue_platform_api_key(None, actor=None, label="Kno2fy")[1]


@pytest.fixture
def org_key(organization):
    return services.issue_platform_api_key(organization, actor=None)[1]


def _get(path: str, key: str | None, **params):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {key}"} if key else {}
    return Client().get(f"/api/directory/v1/{path}", params, **headers)


def test_events_of_an_organization_after_a_position(organization, org_key):
    for n in range(3):
        make_user(organization, f"u{n}@riverside.example")

    body = _get(f"organizations/{organization.slug}/events", org_key, after=1).json()

    assert [event["position"] for event in body["events"]] == [2, 3]
    assert body["events"][0]["resource"]["userName"] == "u1@riverside.example"
    assert (body["next_after"], body["has_more"]) == (3, False)


def test_pages_follow_each_other_without_gaps(organization, org_key):
    for n in range(5):
        make_user(organization, f"u{n}@riverside.example")
    seen, after = [], 0

    while True:
        body = _get(
            f"organizations/{organization.slug}/events", org_key, after=after, limit=2
        ).json()
        seen += [event["position"] for event in body["events"]]
        after = body["next_after"]
        if not body["has_more"]:
            break

    assert seen == [1, 2, 3, 4, 5]


def _five_member_group(organization):
    """Positions 1-5 the users, 6 the group, 7-11 its members (one span in storage)."""
    users = [make_user(organization, f"u{n}@riverside.example") for n in range(5)]
    make_group(organization, "Nurses", members=users)
    return users


def test_a_page_may_end_inside_a_groups_members_and_the_next_one_resumes_there(
    organization, org_key
):
    users = _five_member_group(organization)
    path = f"organizations/{organization.slug}/events"

    first = _get(path, org_key, after=6, limit=2).json()
    second = _get(path, org_key, after=first["next_after"], limit=10).json()

    assert [e["position"] for e in first["events"]] == [7, 8]
    assert (first["next_after"], first["has_more"]) == (8, True)
    assert [e["position"] for e in second["events"]] == [9, 10, 11]
    members = [e["data"]["member"]["userName"] for e in first["events"] + second["events"]]
    assert members == [u.user_name for u in users]
    assert {e["type"] for e in second["events"]} == {"group.member_added"}
    assert second["has_more"] is False


def test_each_member_event_has_its_own_id_the_same_when_read_again(organization, org_key):
    _five_member_group(organization)
    path = f"organizations/{organization.slug}/events"

    once = [e["id"] for e in _get(path, org_key, after=6).json()["events"]]
    again = [e["id"] for e in _get(path, org_key, after=8).json()["events"]]

    assert len(set(once)) == 5
    assert again == once[2:]


def test_the_cross_organization_cursor_resumes_inside_a_groups_members(
    organization, other_organization, platform_key
):
    _five_member_group(organization)
    make_user(other_organization, "x@lakeside.example")

    first = _get("events", platform_key, limit=8).json()
    second = _get("events", platform_key, cursor=first["next_cursor"]).json()

    assert [e["position"] for e in first["events"]] == [1, 2, 3, 4, 5, 6, 7, 8]
    assert [(e["organization"]["slug"], e["position"]) for e in second["events"]] == [
        ("riverside", 9),
        ("riverside", 10),
        ("riverside", 11),
        ("lakeside", 1),
    ]


def test_an_organizations_key_cannot_read_another_organization(
    organization, other_organization, org_key
):
    make_user(other_organization, "x@lakeside.example")

    response = _get(f"organizations/{other_organization.slug}/events", org_key)

    assert response.status_code == 404


def test_an_organizations_key_cannot_read_across_organizations(organization, org_key):
    assert _get("events", org_key).status_code == 403


def test_without_a_valid_key_the_api_answers_401(organization, org_key):
    assert _get("events", None).status_code == 401
    assert _get("events", org_key[:-1] + ("y" if org_key.endswith("x") else "x")).status_code == 401


def test_a_revoked_key_stops_working_at_once(organization):
    row, plaintext = services.issue_platform_api_key(organization, actor=None)

    services.revoke_platform_api_key(row, actor=None)

    assert _get(f"organizations/{organization.slug}/events", plaintext).status_code == 401


def test_the_key_is_stored_only_as_a_digest(organization):
    row, plaintext = services.issue_platform_api_key(organization, actor=None)

    assert plaintext.startswith(f"k2e_{row.key}_")
    assert plaintext not in repr(type(row).objects.values().get())


def test_the_cross_organization_cursor_resumes_every_organization(
    organization, other_organization, platform_key
):
    make_user(organization, "a@riverside.example")
    make_user(other_organization, "x@lakeside.example")
    first = _get("events", platform_key, limit=10).json()
    make_user(other_organization, "y@lakeside.example")
    make_user(organization, "b@riverside.example")

    second = _get("events", platform_key, cursor=first["next_cursor"]).json()

    assert [e["resource"]["userName"] for e in first["events"]] == [
        "a@riverside.example",
        "x@lakeside.example",
    ]
    assert [(e["organization"]["slug"], e["position"]) for e in second["events"]] == [
        ("lakeside", 2),
        ("riverside", 2),
    ]


def test_a_cursor_the_api_did_not_return_is_a_400(platform_key):
    assert _get("events", platform_key, cursor="not-a-cursor!").status_code == 400


def test_the_openapi_schema_documents_both_endpoints():
    response = Client().get("/api/directory/v1/schema", HTTP_ACCEPT="application/json")

    paths = response.json()["paths"]
    assert set(paths) == {
        "/api/directory/v1/events",
        "/api/directory/v1/organizations/{slug}/events",
    }
    assert "platformApiKey" in response.json()["components"]["securitySchemes"]


def test_using_a_key_records_when_it_was_last_used(organization):
    row, plaintext = services.issue_platform_api_key(organization, actor=None)

    _get(f"organizations/{organization.slug}/events", plaintext)

    row.refresh_from_db()
    assert row.last_used_at is not None
