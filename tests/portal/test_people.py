""" "Find a user" and the person page: state, attributes, groups and every event about them.

Everything is provisioned through the real SCIM endpoints, so the history is what recording
produces for Azure's requests.
"""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import reverse

from portal.models import SyncEvent
from scim.models import ScimGroup, ScimUser
from tests import factories

from .conftest import make_tenant_admin

SCIM_JSON = "application/scim+json"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
UNKNOWN_ID = "0e6a8f3c-1111-4222-8333-944455556666"


class Azure:
    """Sends SCIM requests to one organization's tenant URL, as Azure does."""

    def __init__(self, organization, plaintext: str) -> None:
        self.client = Client(raise_request_exception=False)
        self.base = f"/scim/v2/{organization.public_id}"
        self.headers = {"HTTP_AUTHORIZATION": f"Bearer {plaintext}"}

    def send(self, method: str, path: str, body: dict | None = None):
        return self.client.generic(
            method, self.base + path, json.dumps(body or {}), content_type=SCIM_JSON, **self.headers
        )

    def lookup(self, user_name: str):
        return self.client.get(
            self.base + "/Users", {"filter": f'userName eq "{user_name}"'}, **self.headers
        )

    def create_user(self, user_name: str, **extra) -> str:
        body = {
            "schemas": [USER_SCHEMA, ENTERPRISE],
            "userName": user_name,
            "active": True,
            "externalId": user_name.split("@")[0],
            "emails": [{"type": "work", "value": f"work.{user_name}", "primary": True}],
            **extra,
        }
        response = self.send("POST", "/Users", body)
        assert response.status_code == 201, response.content
        return response.json()["id"]

    def create_group(self, name: str) -> str:
        response = self.send(
            "POST",
            "/Groups",
            {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": name},
        )
        assert response.status_code == 201, response.content
        return response.json()["id"]

    def members(self, group_id: str, op: str, *member_ids: str):
        return self.send(
            "PATCH",
            f"/Groups/{group_id}",
            {
                "schemas": [PATCH_OP],
                "Operations": [
                    {"op": op, "path": "members", "value": [{"value": i} for i in member_ids]}
                ],
            },
        )

    def deactivate(self, user_id: str):
        return self.send(
            "PATCH",
            f"/Users/{user_id}",
            {
                "schemas": [PATCH_OP],
                "Operations": [{"op": "Replace", "path": "active", "value": "False"}],
            },
        )


@pytest.fixture
def azure(organization, token) -> Azure:
    return Azure(organization, token[1])


def find(client, organization, text: str, **kwargs):
    return client.get(reverse("portal:find_user", args=[organization.slug]), {"q": text}, **kwargs)


def person_page(client, organization, key: str):
    return client.get(reverse("portal:user_timeline", args=[organization.slug, key]))


@pytest.mark.parametrize("text", ["ANN@Riverside.test", "work.ann@riverside.TEST", "ANN"])
def test_find_a_user_by_username_email_or_external_id_in_any_case_opens_their_page(
    tenant_client, organization, azure, text
):
    user_id = azure.create_user("ann@riverside.test")

    response = find(tenant_client, organization, text)

    assert response.status_code == 302
    assert response["Location"] == reverse(
        "portal:user_timeline", args=[organization.slug, user_id]
    )


def test_the_person_page_shows_the_attributes_as_azure_last_sent_them(
    tenant_client, organization, azure
):
    user_id = azure.create_user(
        "ann@riverside.test",
        name={"givenName": "Ann"},
        **{ENTERPRISE: {"department": "Cardiology"}},
    )

    response = person_page(tenant_client, organization, user_id)

    attributes = dict(response.context["person"].attributes)
    assert attributes["name.givenName"] == "Ann"
    assert attributes["User.department"] == "Cardiology"
    assert response.context["person"].state == "active"
    assert "Cardiology" in response.text


def test_the_person_page_lists_a_create_refused_because_the_name_exists_in_another_case(
    tenant_client, organization, azure
):
    user_id = azure.create_user("ann@riverside.test")
    assert (
        azure.send(
            "POST", "/Users", {"schemas": [USER_SCHEMA], "userName": "Ann@Riverside.Test"}
        ).status_code
        == 409
    )

    events = person_page(tenant_client, organization, user_id).context["page"].events

    refused = [event for event in events if event.status_code == 409]
    assert [event.subject for event in refused] == ["Ann@Riverside.Test"]


def test_the_person_page_lists_the_filters_that_looked_them_up(tenant_client, organization, azure):
    user_id = azure.create_user("ann@riverside.test")
    azure.lookup("ANN@riverside.test")

    events = person_page(tenant_client, organization, user_id).context["page"].events

    lookups = [event.filter for event in events if event.filter]
    assert lookups == ['userName eq "ANN@riverside.test"']


def test_the_person_page_lists_member_patches_naming_them_with_when_membership_began(
    tenant_client, organization, azure
):
    user_id = azure.create_user("ann@riverside.test")
    group_id = azure.create_group("Nurses")
    assert azure.members(group_id, "Add", user_id).status_code == 204

    response = person_page(tenant_client, organization, user_id)

    patch = SyncEvent.objects.get(operation="update_members")
    assert patch in response.context["page"].events
    [membership] = response.context["person"].memberships
    assert (membership.name, membership.current, membership.began) == (
        "Nurses",
        True,
        patch.created_at,
    )


def test_a_membership_that_ended_shows_when(tenant_client, organization, azure):
    user_id = azure.create_user("ann@riverside.test")
    group_id = azure.create_group("Nurses")
    azure.members(group_id, "Add", user_id)
    assert azure.members(group_id, "Remove", user_id).status_code == 204

    [membership] = person_page(tenant_client, organization, user_id).context["person"].memberships

    removal = SyncEvent.objects.filter(operation="update_members").order_by("-id").first()
    assert (membership.current, membership.ended) == (False, removal.created_at)


def test_a_deactivated_user_page_says_since_when(tenant_client, organization, azure):
    user_id = azure.create_user("ann@riverside.test")
    assert azure.deactivate(user_id).status_code == 200

    response = person_page(tenant_client, organization, user_id)

    deactivation = SyncEvent.objects.get(operation="deactivate_user")
    assert response.context["person"].state == "deactivated"
    assert response.context["person"].since == deactivation.created_at
    assert "Why is this user deactivated?" in response.text


def test_a_deleted_user_found_by_name_says_deleted(tenant_client, organization, azure):
    user_id = azure.create_user("ann@riverside.test")
    assert azure.send("DELETE", f"/Users/{user_id}").status_code == 204

    response = find(tenant_client, organization, "ANN@riverside.test", follow=True)

    assert response.context["person"].state == "deleted"


def test_a_name_only_refused_says_azure_tried_and_was_refused(tenant_client, organization, azure):
    assert (
        azure.send(
            "POST",
            "/Users",
            {"schemas": [USER_SCHEMA], "userName": "bad name", "active": "sometimes"},
        ).status_code
        == 400
    )

    response = find(tenant_client, organization, "BAD NAME", follow=True)

    assert response.context["person"].state == "refused"


def test_a_name_azure_never_sent_gets_a_page_with_the_usual_causes(tenant_client, organization):
    response = find(tenant_client, organization, "nobody@riverside.test")

    assert response.status_code == 200
    text = response.text
    assert "Azure AD never sent this user" in text
    for cause in (
        "Not assigned to the enterprise app",
        "Source object scope",
        "An attribute mapping was skipped",
        "quarantine",
    ):
        assert cause in text


def test_find_a_user_is_on_every_portal_page(tenant_client, organization, azure):
    user_id = azure.create_user("ann@riverside.test")
    group_id = azure.create_group("Nurses")
    event = SyncEvent.objects.first()
    for name, args in [
        ("dashboard", []),
        ("event_list", []),
        ("user_list", []),
        ("group_list", []),
        ("event_detail", [event.pk]),
        ("user_timeline", [user_id]),
        ("group_timeline", [group_id]),
    ]:
        response = tenant_client.get(reverse(f"portal:{name}", args=[organization.slug, *args]))
        assert '<label for="find-user">Find a user</label>' in response.text, name


def test_find_a_user_never_finds_another_organizations_user(
    organization, other_organization, azure
):
    other_token = factories.make_token(other_organization)
    Azure(other_organization, other_token[1]).create_user("secret@lakeside.test")
    client = Client()
    client.force_login(make_tenant_admin(organization))

    response = find(client, organization, "secret@lakeside.test")

    assert response.status_code == 200
    assert "never sent this user" in response.text


def test_a_nul_character_in_find_a_user_is_a_400(tenant_client, organization):
    assert find(tenant_client, organization, "a\x00b").status_code == 400


def _populate(azure: Azure, users: int, groups: int) -> str:
    ids = [azure.create_user(f"user{n}@riverside.test") for n in range(users)]
    for n in range(groups):
        group_id = azure.create_group(f"Group {n}")
        azure.members(group_id, "Add", *ids)
        azure.lookup("user0@riverside.test")
    return ids[0]


@pytest.mark.parametrize(("users", "groups"), [(2, 1), (6, 8)])
def test_the_person_page_costs_the_same_queries_whatever_the_history(
    tenant_client, organization, azure, django_assert_max_num_queries, users, groups
):
    user_id = _populate(azure, users, groups)

    with django_assert_max_num_queries(12):
        response = person_page(tenant_client, organization, user_id)

    assert len(response.context["person"].memberships) == groups


def test_an_event_names_the_members_added(tenant_client, organization, azure):
    ann, bob = azure.create_user("ann@riverside.test"), azure.create_user("bob@riverside.test")
    group_id = azure.create_group("Nurses")
    azure.members(group_id, "Add", ann, bob)
    patch = SyncEvent.objects.get(operation="update_members")

    response = tenant_client.get(reverse("portal:event_detail", args=[organization.slug, patch.pk]))

    assert sorted(name for _, name in response.context["members"]["added"]) == [
        "ann@riverside.test",
        "bob@riverside.test",
    ]


def test_an_event_names_the_members_removed(tenant_client, organization, azure):
    ann = azure.create_user("ann@riverside.test")
    group_id = azure.create_group("Nurses")
    azure.members(group_id, "Add", ann)
    azure.members(group_id, "Remove", ann)
    removal = SyncEvent.objects.filter(operation="update_members").order_by("-id").first()

    response = tenant_client.get(
        reverse("portal:event_detail", args=[organization.slug, removal.pk])
    )

    assert response.context["members"]["removed"] == [(ann, "ann@riverside.test")]


def test_a_member_patch_refused_for_one_unknown_id_names_it_and_says_azure_retries_it_all(
    tenant_client, organization, azure
):
    ann = azure.create_user("ann@riverside.test")
    group_id = azure.create_group("Nurses")
    assert azure.members(group_id, "Add", ann, UNKNOWN_ID).status_code == 400
    refused = SyncEvent.objects.get(succeeded=False)

    response = tenant_client.get(
        reverse("portal:event_detail", args=[organization.slug, refused.pk])
    )

    fix = response.context["fix"]
    assert f"member {UNKNOWN_ID}" in fix
    assert "retry the whole request" in fix
    assert ScimGroup.objects.get().members.count() == 0
    assert (ann, "ann@riverside.test") in response.context["members"]["refused"]


def test_the_refused_member_patch_is_on_the_known_members_page(tenant_client, organization, azure):
    ann = azure.create_user("ann@riverside.test")
    group_id = azure.create_group("Nurses")
    azure.members(group_id, "Add", ann, UNKNOWN_ID)

    events = person_page(tenant_client, organization, ann).context["page"].events

    assert any(event.status_code == 400 for event in events)


def test_a_group_page_pages_its_members(tenant_client, organization, azure, settings):
    settings.PORTAL_PAGE_SIZE = 2
    ids = [azure.create_user(f"u{n}@riverside.test") for n in range(3)]
    group_id = azure.create_group("Nurses")
    azure.members(group_id, "Add", *ids)
    url = reverse("portal:group_timeline", args=[organization.slug, group_id])

    first = tenant_client.get(url).context["members"]
    second = tenant_client.get(url, {"members_page": 2}).context["members"]

    assert [m.user.user_name for m in first] == ["u0@riverside.test", "u1@riverside.test"]
    assert [m.user.user_name for m in second] == ["u2@riverside.test"]
    assert first.paginator.count == 3
    assert ScimUser.objects.count() == 3


@pytest.mark.parametrize("members", [2, 12])
def test_a_group_page_costs_the_same_queries_whatever_its_size(
    tenant_client, organization, azure, django_assert_max_num_queries, members
):
    ids = [azure.create_user(f"u{n}@riverside.test") for n in range(members)]
    group_id = azure.create_group("Nurses")
    azure.members(group_id, "Add", *ids)
    url = reverse("portal:group_timeline", args=[organization.slug, group_id])

    with django_assert_max_num_queries(10):
        response = tenant_client.get(url)

    assert response.context["members"].paginator.count == members


@pytest.mark.parametrize("members", [2, 12])
def test_a_membership_change_costs_the_same_queries_whatever_its_size(
    tenant_client, organization, azure, django_assert_max_num_queries, members
):
    ids = [azure.create_user(f"u{n}@riverside.test") for n in range(members)]
    azure.members(azure.create_group("Nurses"), "Add", *ids)
    patch = SyncEvent.objects.get(operation="update_members")

    with django_assert_max_num_queries(8):
        response = tenant_client.get(
            reverse("portal:event_detail", args=[organization.slug, patch.pk])
        )

    assert len(response.context["members"]["added"]) == members


def test_the_never_sent_page_keeps_the_name_in_the_search_field(tenant_client, organization):
    response = find(tenant_client, organization, "Nobody@Riverside.test")

    assert 'value="Nobody@Riverside.test"' in response.text


def test_find_a_user_by_the_external_id_of_a_refused_create_leads_to_the_refusal(
    tenant_client, organization, azure
):
    azure.create_user("ann@riverside.test")
    refused = azure.send(
        "POST",
        "/Users",
        {"schemas": [USER_SCHEMA], "userName": "ANN@riverside.test", "externalId": "ann-2"},
    )
    assert refused.status_code == 409

    response = find(tenant_client, organization, "ann-2", follow=True)

    assert response.context["person"].state == "refused"
    assert [event.status_code for event in response.context["page"].events] == [409]


def test_find_a_user_by_a_member_id_of_a_refused_group_patch_leads_to_the_refusal(
    tenant_client, organization, azure
):
    ann = azure.create_user("ann@riverside.test")
    group_id = azure.create_group("Nurses")
    assert azure.members(group_id, "Add", ann, UNKNOWN_ID).status_code == 400

    response = find(tenant_client, organization, UNKNOWN_ID, follow=True)

    assert response.context["person"].state == "refused_change"
    assert [event.status_code for event in response.context["page"].events] == [400]
    assert "Azure will retry it" in response.text


def dashboard(client, organization):
    return client.get(reverse("portal:dashboard", args=[organization.slug]))


def test_the_dashboard_says_waiting_for_azures_first_request_before_any_call(
    tenant_client, organization, token
):
    response = dashboard(tenant_client, organization)

    assert "Waiting for Azure&#x27;s first request" in response.text
    assert "No problems found" not in response.text


def test_the_dashboard_warns_of_a_refused_create_and_names_the_user(
    tenant_client, organization, azure
):
    azure.create_user("ann@riverside.test")
    refused = azure.send(
        "POST", "/Users", {"schemas": [USER_SCHEMA], "userName": "Ann@Riverside.Test"}
    )
    assert refused.status_code == 409

    response = dashboard(tenant_client, organization)

    assert response.context["health"].level == "warning"
    assert "No problems found" not in response.text
    assert "Ann@Riverside.Test" in response.text


def test_the_existing_users_page_mentions_the_refused_duplicate_create(
    tenant_client, organization, azure
):
    ann = azure.create_user("ann@riverside.test")
    duplicate = {"schemas": [USER_SCHEMA], "userName": "Ann@Riverside.Test", "externalId": "a2"}
    assert azure.send("POST", "/Users", duplicate).status_code == 409

    response = person_page(tenant_client, organization, ann)

    notice = response.text.split('data-testid="refused-duplicate"')[1].split("</div>")[0]
    assert "Ann@Riverside.Test" in notice
    assert "a2" in notice


def test_the_users_page_mentions_a_refused_member_change_that_azure_will_retry(
    tenant_client, organization, azure
):
    ann = azure.create_user("ann@riverside.test")
    group_id = azure.create_group("Nurses")
    assert azure.members(group_id, "Add", ann, UNKNOWN_ID).status_code == 400

    response = person_page(tenant_client, organization, ann)

    notice = response.text.split('data-testid="refused-member-change"')[1].split("</div>")[0]
    assert "Azure will retry it" in notice


def test_a_member_change_applied_after_the_refusal_clears_the_users_notice(
    tenant_client, organization, azure
):
    ann = azure.create_user("ann@riverside.test")
    group_id = azure.create_group("Nurses")
    azure.members(group_id, "Add", ann, UNKNOWN_ID)
    assert azure.members(group_id, "Add", ann).status_code in {200, 204}

    response = person_page(tenant_client, organization, ann)

    assert 'data-testid="refused-member-change"' not in response.text


def test_the_group_page_mentions_a_refused_member_change_that_azure_will_retry(
    tenant_client, organization, azure
):
    ann = azure.create_user("ann@riverside.test")
    group_id = azure.create_group("Nurses")
    azure.members(group_id, "Add", ann, UNKNOWN_ID)

    response = tenant_client.get(
        reverse("portal:group_timeline", args=[organization.slug, group_id])
    )

    notice = response.text.split('data-testid="refused-member-change"')[1].split("</div>")[0]
    assert "Azure will retry it" in notice
