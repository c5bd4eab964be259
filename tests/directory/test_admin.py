"""Staff manage endpoints in the admin: secrets once, the delivery log, retry and replay."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from directory import delivery, services
from directory.models import DeliveryStatus, PlatformApiKey, WebhookDelivery, WebhookEndpoint
from tests import factories
from tests.scim.conftest import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client, staff_user):
    factories.staff_sign_in(client, staff_user)
    return client


def test_adding_an_endpoint_shows_its_secret_once(staff_client, organization):
    added = staff_client.post(
        reverse("admin:directory_webhookendpoint_add"),
        {
            "organization": str(organization.pk),
            "url": "https://hooks.kno2fy.example/in",
            "description": "Kno2fy",
        },
        follow=True,
    )
    endpoint = WebhookEndpoint.objects.get()
    page = staff_client.get(reverse("admin:directory_webhookendpoint_change", args=[endpoint.pk]))
    reload = staff_client.get(reverse("admin:directory_webhookendpoint_secret", args=[endpoint.pk]))

    secret = added.context["plaintext"]
    assert secret.startswith("whsec_") and secret in added.text
    assert "no-store" in added["Cache-Control"]
    assert secret not in page.text
    assert secret[:10] in page.text  # the hint identifies it
    assert reload.context["plaintext"] is None and secret not in reload.text


def _messages_cookie(client) -> str:
    cookie = client.cookies.get("messages")
    return cookie.value if cookie is not None else ""


def test_a_new_endpoints_secret_never_travels_in_a_message(staff_client, organization):
    added = staff_client.post(
        reverse("admin:directory_webhookendpoint_add"),
        {"organization": str(organization.pk), "url": "https://a.example/h", "description": ""},
        follow=True,
    )

    secret = added.context["plaintext"]
    assert secret not in _messages_cookie(staff_client)
    assert all(secret not in str(m) for m in added.context["messages"])


def test_a_rotated_secret_is_shown_once_on_its_endpoints_page(staff_client, organization):
    endpoint, old = services.add_endpoint(organization, url="https://a.example/h", actor=None)

    rotated = staff_client.post(
        reverse("admin:directory_webhookendpoint_changelist"),
        {"action": "rotate_secrets", "_selected_action": [str(endpoint.pk)]},
        follow=True,
    )
    reload = staff_client.get(reverse("admin:directory_webhookendpoint_secret", args=[endpoint.pk]))

    new = rotated.context["plaintext"]
    assert new.startswith("whsec_") and new != old
    assert new not in _messages_cookie(staff_client)
    assert reload.context["plaintext"] is None


def test_a_new_platform_api_key_is_shown_once_and_never_in_a_message(staff_client, organization):
    added = staff_client.post(
        reverse("admin:directory_platformapikey_add"),
        {"organization": str(organization.pk), "label": "Kno2fy"},
        follow=True,
    )
    api_key = PlatformApiKey.objects.get()
    reload = staff_client.get(reverse("admin:directory_platformapikey_secret", args=[api_key.pk]))

    plaintext = added.context["plaintext"]
    assert plaintext.startswith(f"k2e_{api_key.key}_")
    assert services.authenticate_platform_key(plaintext) == api_key
    assert plaintext not in _messages_cookie(staff_client)
    assert reload.context["plaintext"] is None


def test_the_delivery_log_lists_an_endpoints_deliveries_only(
    staff_client, organization, other_organization
):
    mine, _ = services.add_endpoint(organization, url="https://a.example/h", actor=None)
    services.add_endpoint(other_organization, url="https://b.example/h", actor=None)
    make_user(organization, "alice@riverside.example")
    make_user(other_organization, "zed@lakeside.example")

    response = staff_client.get(
        reverse("admin:directory_webhookdelivery_changelist"), {"endpoint__id__exact": mine.pk}
    )

    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == list(
        WebhookDelivery.objects.filter(endpoint=mine)
    )
    assert "lakeside" not in response.text.split('id="result_list"')[1]


def test_replay_from_a_position_in_the_admin_queues_those_events(staff_client, organization):
    endpoint, _ = services.add_endpoint(organization, url="https://a.example/h", actor=None)
    for n in range(3):
        make_user(organization, f"u{n}@riverside.example")
    WebhookDelivery.objects.update(status=DeliveryStatus.DELIVERED)

    staff_client.post(
        reverse("admin:directory_webhookendpoint_replay", args=[endpoint.pk]), {"position": "2"}
    )

    assert list(
        WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING)
        .order_by("position")
        .values_list("position", flat=True)
    ) == [2, 3]


def test_retry_now_in_the_admin_makes_pending_deliveries_due(staff_client, organization):
    from datetime import timedelta

    from django.utils import timezone

    endpoint, _ = services.add_endpoint(organization, url="https://a.example/h", actor=None)
    make_user(organization, "alice@riverside.example")
    WebhookDelivery.objects.update(next_attempt_at=timezone.now() + timedelta(hours=1))

    staff_client.post(
        reverse("admin:directory_webhookendpoint_changelist"),
        {"action": "retry_now", "_selected_action": [str(endpoint.pk)]},
    )

    assert WebhookDelivery.objects.get().next_attempt_at <= timezone.now()


def test_staff_are_told_on_the_endpoint_list_when_one_was_disabled(staff_client, organization):
    endpoint, _ = services.add_endpoint(organization, url="https://down.example/h", actor=None)
    delivery.disable_failing(endpoint, "failing since yesterday")

    response = staff_client.get(reverse("admin:directory_webhookendpoint_changelist"))

    assert "https://down.example/h (riverside) was disabled: failing since yesterday" in [
        str(m) for m in response.context["messages"]
    ]


def test_the_endpoint_pages_render_for_staff(staff_client, organization):
    endpoint, _ = services.add_endpoint(None, url="https://all.example/h", actor=None)

    pages = [
        reverse("admin:directory_webhookendpoint_add"),
        reverse("admin:directory_webhookendpoint_change", args=[endpoint.pk]),
        reverse("admin:directory_webhookendpoint_replay", args=[endpoint.pk]),
        reverse("admin:directory_directoryevent_changelist"),
        reverse("admin:directory_platformapikey_add"),
    ]

    assert [staff_client.get(page).status_code for page in pages] == [200] * len(pages)


def test_people_without_staff_access_cannot_replay(client, organization):
    endpoint, _ = services.add_endpoint(organization, url="https://a.example/h", actor=None)

    response = client.post(
        reverse("admin:directory_webhookendpoint_replay", args=[endpoint.pk]), {"position": "1"}
    )

    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "https://169.254.169.254/latest/meta-data/",
        "https://10.0.0.5/hooks",
        "http://hooks.kno2fy.example/in",
    ],
)
def test_the_admin_refuses_a_webhook_url_directory_data_must_not_go_to(
    staff_client, organization, settings, url
):
    settings.OUTBOUND_ALLOW_LOOPBACK = False
    answer = staff_client.post(
        reverse("admin:directory_webhookendpoint_add"),
        {"organization": str(organization.pk), "url": url, "description": ""},
    )

    assert answer.status_code == 200
    assert "Not an allowed webhook URL" in answer.text
    assert not WebhookEndpoint.objects.exists()


def test_a_plain_http_loopback_receiver_is_accepted_only_with_the_loopback_setting(
    staff_client, organization, settings
):
    settings.OUTBOUND_ALLOW_LOOPBACK = False
    data = {"organization": str(organization.pk), "url": "http://127.0.0.1:9/h", "description": ""}
    staff_client.post(reverse("admin:directory_webhookendpoint_add"), data)
    refused = WebhookEndpoint.objects.count()
    settings.OUTBOUND_ALLOW_LOOPBACK = True
    staff_client.post(reverse("admin:directory_webhookendpoint_add"), data)

    assert refused == 0
    assert WebhookEndpoint.objects.get().url == "http://127.0.0.1:9/h"


def test_the_command_refuses_a_plain_http_webhook_url(organization, settings):
    settings.OUTBOUND_ALLOW_LOOPBACK = False
    with pytest.raises(CommandError, match="https"):
        call_command("add_webhook_endpoint", organization.slug, "--url", "http://hooks.example/in")
    assert not WebhookEndpoint.objects.exists()


def _autocomplete(client, app_label: str, model_name: str, term: str):
    return client.get(
        reverse("admin:autocomplete"),
        {
            "app_label": app_label,
            "model_name": model_name,
            "field_name": "organization",
            "term": term,
        },
    )


def test_staff_pick_a_webhooks_organization_by_name(staff_client, organization):
    form = staff_client.get(reverse("admin:directory_webhookendpoint_add"))
    found = _autocomplete(staff_client, "directory", "webhookendpoint", organization.name[:5])

    assert "admin-autocomplete" in form.text
    assert [r["text"] for r in found.json()["results"]] == [str(organization)]


def test_staff_pick_a_tenant_admins_organization_by_name(staff_client, organization):
    form = staff_client.get(reverse("admin:portal_tenantadmin_add"))
    found = _autocomplete(staff_client, "portal", "portalmembership", organization.name[:5])

    assert "admin-autocomplete" in form.text
    assert [r["text"] for r in found.json()["results"]] == [str(organization)]


def test_an_organizations_admin_page_links_to_its_webhooks_only(
    staff_client, organization, other_organization
):
    services.add_endpoint(organization, url="https://hooks.kno2fy.example/mine", actor=None)
    services.add_endpoint(other_organization, url="https://hooks.kno2fy.example/theirs", actor=None)
    page = staff_client.get(
        reverse("admin:organizations_organization_change", args=[organization.pk])
    )
    link = page.text.split('data-testid="webhooks-link"')[0].rsplit('href="', 1)[1].split('"')[0]

    listing = staff_client.get(link.replace("&amp;", "&"))

    assert listing.status_code == 200
    assert "hooks.kno2fy.example/mine" in listing.text
    assert "hooks.kno2fy.example/theirs" not in listing.text


def test_send_test_event_delivers_a_signed_test_event_and_audits_it(
    staff_client, endpoint, receiver
):
    from organizations.models import AuditRecord

    response = staff_client.post(
        reverse("admin:directory_webhookendpoint_changelist"),
        {"action": "send_test_event", "_selected_action": [endpoint.pk]},
        follow=True,
    )

    assert receiver.rejected == []
    assert receiver.types() == ["webhook.test"]
    assert "Test event delivered" in response.text
    assert AuditRecord.objects.filter(action="webhook_test_sent").count() == 1
