"""The portal's Webhooks page: a customer admin's own webhook endpoints, with the signing secret
shown once, rotation, disable and enable, and a test event sent to a real receiver."""

from __future__ import annotations

import logging
import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from directory import delivery
from directory import services as directory_services
from directory.models import WebhookEndpoint, WebhookSecret
from organizations.models import AuditRecord
from portal.models import PortalRole
from tests.directory.conftest import (  # noqa: F401 (shared fixtures)
    _fast_retries,  # autouse: webhook settings, and the receiver on 127.0.0.1 allowed
    receiver,  # a real receiver that verifies signatures
)
from tests.scim.conftest import make_group, make_user

from .conftest import portal_member

SECRET = re.compile(r'id="signing-secret"[^>]*value="(whsec_[^"]+)"')
PUBLIC_URL = "https://hooks.riverside.example/kno2"


@pytest.fixture
def other_admin(other_organization):
    """An admin of the other organization only."""
    return portal_member(other_organization, "olga", PortalRole.ADMIN)


@pytest.fixture
def endpoint(organization):
    row, _ = directory_services.add_endpoint(organization, url=PUBLIC_URL, actor=None)
    return row


@pytest.fixture
def live_endpoint(organization, receiver):  # noqa: F811 (the shared fixture)
    """An endpoint of ``organization`` at the real receiver, which knows its secret."""
    row, receiver.secret = directory_services.add_endpoint(
        organization, url=receiver.url, actor=None
    )
    return row


def _page(organization) -> str:
    return f"/portal/o/{organization.slug}/webhooks/"


def _secret(page: str) -> str | None:
    found = SECRET.search(page)
    return found.group(1) if found else None


def _state() -> list:
    return [
        list(WebhookEndpoint.objects.values_list("pk", "url", "is_enabled", "disabled_reason")),
        list(WebhookSecret.objects.values_list("pk", "expires_at")),
        AuditRecord.objects.count(),
    ]


ACTIONS = ["rotate", "disable", "enable", "test"]


def _action_url(organization, endpoint, action: str) -> str:
    return f"{_page(organization)}{endpoint.pk}/{action}/"


# -- Reaching the page ----------------------------------------------------------------------------


def test_an_admin_reaches_the_webhooks_page_from_the_navigation(customer_admin, organization):
    _, client = customer_admin
    dashboard = client.get(f"/portal/o/{organization.slug}/").content.decode()
    assert f'<a href="{_page(organization)}">Webhooks</a>' in dashboard
    assert client.get(_page(organization)).status_code == 200


def test_a_viewer_has_no_webhooks_link(viewer, organization):
    _, client = viewer
    dashboard = client.get(f"/portal/o/{organization.slug}/").content.decode()
    assert ">Webhooks</a>" not in dashboard


def test_the_page_lists_the_organizations_endpoints_with_their_status(
    customer_admin, organization, endpoint
):
    _, client = customer_admin
    page = client.get(_page(organization)).content.decode()
    assert f'<a href="{_page(organization)}{endpoint.pk}/"><code>{PUBLIC_URL}</code></a>' in page
    assert '<span class="ok" data-testid="webhook-status">Enabled</span>' in page


def test_the_page_does_not_list_kno2s_endpoints_for_every_organization(
    customer_admin, organization
):
    platform, _ = directory_services.add_endpoint(
        None, url="https://platform.kno2fy.example/hooks", actor=None
    )
    _, client = customer_admin
    assert "platform.kno2fy.example" not in client.get(_page(organization)).content.decode()
    assert client.get(f"{_page(organization)}{platform.pk}/").status_code == 404


def _page_after_delivery(customer_admin, organization, endpoint) -> str:
    """The Webhooks page as the customer admin sees it once a worker has sent what it could."""
    delivery.deliver_stream(endpoint.pk, organization.pk, owner="test-worker")
    _, client = customer_admin
    return client.get(_page(organization)).content.decode()


def test_the_page_counts_pending_deliveries_and_names_the_last_failure(
    customer_admin,
    organization,
    receiver,  # noqa: F811 (the shared fixture)
    live_endpoint,
):
    make_user(organization, "ann@riverside.example")
    make_user(organization, "bob@riverside.example")
    receiver.script.append(500)
    page = _page_after_delivery(customer_admin, organization, live_endpoint)
    assert '<span data-testid="pending">2 pending</span>' in page
    assert "Last attempt failed: HTTP 500" in page
    assert '<span class="warning" data-testid="webhook-status">Failing</span>' in page


def test_the_pending_count_is_of_events_each_member_of_a_group_change_counting_once(
    customer_admin,
    organization,
    receiver,  # noqa: F811 (the shared fixture)
    live_endpoint,
):
    users = [make_user(organization, f"u{n}@riverside.example") for n in range(3)]
    make_group(organization, "Nurses", members=users)  # 3 users, the group, 3 members
    receiver.script.extend([200, 200, 200, 200, 200, 500])
    page = _page_after_delivery(customer_admin, organization, live_endpoint)
    assert '<span data-testid="pending">2 pending</span>' in page


def test_the_page_says_when_the_last_event_was_delivered(
    customer_admin,
    organization,
    receiver,  # noqa: F811 (the shared fixture)
    live_endpoint,
):
    make_user(organization, "ann@riverside.example")
    page = _page_after_delivery(customer_admin, organization, live_endpoint)
    delivered_at = live_endpoint.deliveries.get().delivered_at
    assert '<span data-testid="pending">0 pending</span>' in page
    assert f"Last delivered {delivered_at:%Y-%m-%d %H:%M} UTC" in page


def _list_queries(client, organization) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(_page(organization)).status_code == 200
    return len(captured)


def _add_endpoints(organization, count: int) -> None:
    for _ in range(count):
        row, _ = directory_services.add_endpoint(organization, url=PUBLIC_URL, actor=None)
        directory_services.rotate_secret(row, actor=None)  # two signing secrets each
    make_user(organization, f"user{WebhookEndpoint.objects.count()}@riverside.example")


def test_the_page_makes_as_many_queries_for_ten_endpoints_as_for_one(customer_admin, organization):
    _, client = customer_admin
    _add_endpoints(organization, 1)
    client.get(_page(organization))  # the session warmed up
    one = _list_queries(client, organization)
    _add_endpoints(organization, 9)
    page = client.get(_page(organization)).content.decode()
    assert page.count('data-testid="pending">') == 10
    assert _list_queries(client, organization) == one


# -- Roles and organizations ----------------------------------------------------------------------


def test_a_viewer_cannot_open_the_webhooks_page(viewer, organization):
    _, client = viewer
    assert client.get(_page(organization)).status_code == 403


def test_a_viewer_cannot_open_an_endpoints_page(viewer, organization, endpoint):
    _, client = viewer
    assert client.get(f"{_page(organization)}{endpoint.pk}/").status_code == 403


def test_a_viewer_posting_the_add_form_directly_is_refused_and_nothing_is_added(
    viewer, organization
):
    _, client = viewer
    before = _state()
    assert client.post(_page(organization), {"url": PUBLIC_URL}).status_code == 403
    assert _state() == before


@pytest.mark.parametrize("action", ACTIONS)
def test_a_viewer_posting_an_endpoint_action_directly_is_refused_and_nothing_changes(
    viewer, organization, endpoint, action
):
    if action == "enable":
        directory_services.disable_endpoint(endpoint, actor=None)
    _, client = viewer
    before = _state()
    assert client.post(_action_url(organization, endpoint, action)).status_code == 403
    assert _state() == before


def test_another_organizations_admin_cannot_see_this_organizations_webhooks(
    other_admin, organization, endpoint
):
    _, client = other_admin
    assert client.get(_page(organization)).status_code == 404
    assert client.get(f"{_page(organization)}{endpoint.pk}/").status_code == 404


def test_another_organizations_admin_cannot_open_this_endpoint_through_their_own_page(
    other_admin, other_organization, endpoint
):
    _, client = other_admin
    assert client.get(f"{_page(other_organization)}{endpoint.pk}/").status_code == 404


@pytest.mark.parametrize("action", ACTIONS)
def test_another_organizations_admin_cannot_change_this_organizations_endpoint(
    other_admin, organization, other_organization, endpoint, action
):
    if action == "enable":
        directory_services.disable_endpoint(endpoint, actor=None)
    _, client = other_admin
    before = _state()
    assert client.post(_action_url(organization, endpoint, action)).status_code == 404
    assert client.post(_action_url(other_organization, endpoint, action)).status_code == 404
    assert _state() == before


def test_an_action_posted_without_the_csrf_token_is_refused(organization, endpoint):
    user, _ = portal_member(organization, "csrf.ada", PortalRole.ADMIN)
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    before = _state()
    assert client.post(_action_url(organization, endpoint, "disable")).status_code == 403
    assert _state() == before


# -- Adding an endpoint ---------------------------------------------------------------------------


def test_an_admin_adds_an_endpoint_and_sees_its_signing_secret_once(customer_admin, organization):
    _, client = customer_admin
    answer = client.post(_page(organization), {"url": PUBLIC_URL, "description": "Our SIEM"})
    endpoint = WebhookEndpoint.objects.get()
    assert answer.status_code == 303
    assert answer["Location"] == f"{_page(organization)}{endpoint.pk}/"
    shown = client.get(answer["Location"]).content.decode()
    secret = _secret(shown)
    assert secret is not None
    assert endpoint.secrets.get().hint == secret[:10]
    again = client.get(answer["Location"]).content.decode()
    assert _secret(again) is None
    assert secret not in again
    assert 'id="secret-gone"' in again


def test_the_endpoint_added_belongs_to_the_organization_and_the_admin(customer_admin, organization):
    _, client = customer_admin
    client.post(_page(organization), {"url": PUBLIC_URL, "description": "Our SIEM"})
    endpoint = WebhookEndpoint.objects.get()
    assert (endpoint.organization, endpoint.url, endpoint.description) == (
        organization,
        PUBLIC_URL,
        "Our SIEM",
    )
    assert endpoint.created_by.username == "ada"


def test_adding_an_endpoint_is_audited_with_the_admin(customer_admin, organization):
    _, client = customer_admin
    client.post(_page(organization), {"url": PUBLIC_URL})
    record = AuditRecord.objects.get(action="webhook_endpoint_added")
    assert (record.organization, record.actor_name) == (organization, "ada")


def test_the_signing_secret_is_never_logged_nor_put_in_a_message(
    customer_admin, organization, caplog
):
    _, client = customer_admin
    with caplog.at_level(logging.DEBUG):
        answer = client.post(_page(organization), {"url": PUBLIC_URL})
        shown = client.get(answer["Location"])
    secret = _secret(shown.content.decode())
    assert secret is not None
    assert secret not in caplog.text
    assert all(secret not in str(message) for message in shown.context["messages"])
    assert all(secret not in cookie.value for cookie in client.cookies.values())


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://hooks.riverside.example/kno2", "The URL must use https."),
        ("https://169.254.169.254/latest/meta-data/", "a link-local address"),
        ("https://10.0.0.7/hooks", "a private address"),
    ],
)
def test_a_url_the_outbound_rules_refuse_gets_a_form_error_and_adds_nothing(
    customer_admin, organization, url, reason
):
    _, client = customer_admin
    before = _state()
    answer = client.post(_page(organization), {"url": url})
    page = answer.content.decode()
    assert answer.status_code == 400
    error = re.search(
        r'<p class="notice critical" id="id_url_error" role="alert">([^<]*)</p>', page
    )
    assert error is not None and reason in error.group(1)
    assert _state() == before


def test_text_that_is_not_a_url_gets_a_form_error_and_adds_nothing(customer_admin, organization):
    _, client = customer_admin
    answer = client.post(_page(organization), {"url": "not a url"})
    assert answer.status_code == 400
    assert 'id="id_url_error"' in answer.content.decode()
    assert not WebhookEndpoint.objects.exists()


# -- Acting on an endpoint ------------------------------------------------------------------------


def test_disabling_an_endpoint_stops_it_and_says_who_disabled_it(
    customer_admin, organization, endpoint
):
    _, client = customer_admin
    answer = client.post(_action_url(organization, endpoint, "disable"))
    endpoint.refresh_from_db()
    assert endpoint.is_enabled is False
    page = client.get(answer["Location"]).content.decode()
    assert '<span class="critical" data-testid="webhook-status">Disabled</span>' in page
    assert "disabled by ada" in page
    assert "Changes made while it is disabled are not sent to it later" in page


def test_enabling_a_disabled_endpoint_turns_it_back_on(customer_admin, organization, endpoint):
    _, client = customer_admin
    client.post(_action_url(organization, endpoint, "disable"))
    answer = client.post(_action_url(organization, endpoint, "enable"))
    endpoint.refresh_from_db()
    assert (endpoint.is_enabled, endpoint.disabled_reason) == (True, "")
    page = client.get(answer["Location"]).content.decode()
    assert '<span class="ok" data-testid="webhook-status">Enabled</span>' in page


def test_rotating_shows_the_new_secret_once_and_the_old_one_keeps_signing_for_a_while(
    customer_admin, organization
):
    _, client = customer_admin
    added = client.post(_page(organization), {"url": PUBLIC_URL})
    first = _secret(client.get(added["Location"]).content.decode())
    endpoint = WebhookEndpoint.objects.get()
    rotated = client.post(_action_url(organization, endpoint, "rotate"))
    assert rotated["Location"] == added["Location"]
    shown = client.get(rotated["Location"]).content.decode()
    second = _secret(shown)
    assert second is not None and second != first
    old = endpoint.secrets.get(hint=first[:10])
    assert f"<code>{first[:10]}…</code> until {old.expires_at:%Y-%m-%d %H:%M} UTC" in shown
    assert _secret(client.get(rotated["Location"]).content.decode()) is None


@pytest.mark.parametrize(
    ("action", "audited"),
    [
        ("rotate", "webhook_secret_rotated"),
        ("disable", "webhook_endpoint_disabled"),
        ("test", "webhook_test_sent"),
    ],
)
def test_each_action_is_audited_with_the_admin(
    customer_admin, organization, live_endpoint, action, audited
):
    _, client = customer_admin
    client.post(_action_url(organization, live_endpoint, action))
    record = AuditRecord.objects.get(action=audited)
    assert (record.organization, record.actor_name, record.detail["endpoint"]) == (
        organization,
        "ada",
        live_endpoint.pk,
    )


def test_enabling_is_audited_with_the_admin(customer_admin, organization, endpoint):
    directory_services.disable_endpoint(endpoint, actor=None)
    _, client = customer_admin
    client.post(_action_url(organization, endpoint, "enable"))
    assert AuditRecord.objects.get(action="webhook_endpoint_enabled").actor_name == "ada"


def test_a_test_event_reaches_the_receiver_signed_with_the_secret_shown_and_the_page_says_so(
    customer_admin,
    organization,
    receiver,  # noqa: F811 (the shared fixture)
):
    _, client = customer_admin
    added = client.post(_page(organization), {"url": receiver.url})
    receiver.secret = _secret(client.get(added["Location"]).content.decode())
    endpoint = WebhookEndpoint.objects.get()
    answer = client.post(_action_url(organization, endpoint, "test"), follow=True)
    assert receiver.rejected == []
    assert receiver.types() == ["webhook.test"]
    assert receiver.received[0]["organization"]["slug"] == organization.slug
    assert "Test event delivered: the receiver answered HTTP 200." in answer.content.decode()


def test_a_test_event_the_receiver_refuses_is_reported_as_not_delivered(
    customer_admin,
    organization,
    receiver,  # noqa: F811 (the shared fixture)
    live_endpoint,
):
    row = live_endpoint
    receiver.script.append(500)
    _, client = customer_admin
    answer = client.post(_action_url(organization, row, "test"), follow=True)
    assert "The test event was not delivered: HTTP 500." in answer.content.decode()


# -- Self-service switched off --------------------------------------------------------------------


@pytest.fixture
def self_service_off(organization):
    organization.self_service_enabled = False
    organization.save()
    return organization


def test_with_self_service_switched_off_adding_an_endpoint_is_refused(
    customer_admin, self_service_off
):
    _, client = customer_admin
    answer = client.post(_page(self_service_off), {"url": PUBLIC_URL}, follow=True)
    assert "switched self-service off" in answer.content.decode()
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize("action", ACTIONS)
def test_with_self_service_switched_off_every_endpoint_action_is_refused(
    customer_admin, organization, endpoint, action
):
    if action == "enable":
        directory_services.disable_endpoint(endpoint, actor=None)
    organization.self_service_enabled = False
    organization.save()
    _, client = customer_admin
    before = _state()
    answer = client.post(_action_url(organization, endpoint, action))
    assert answer.status_code == 303
    assert "switched self-service off" in client.get(answer["Location"]).content.decode()
    assert _state() == before


def test_with_self_service_switched_off_the_page_offers_no_form(
    customer_admin, self_service_off, endpoint
):
    _, client = customer_admin
    page = client.get(_page(self_service_off)).content.decode()
    detail = client.get(f"{_page(self_service_off)}{endpoint.pk}/").content.decode()
    assert 'data-testid="self-service-off"' in page
    assert "Add endpoint" not in page
    assert "Send test event" not in detail and "Rotate signing secret" not in detail
