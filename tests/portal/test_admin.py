from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from portal.models import HistoryApiKey, PortalMembership
from tests import factories

from .conftest import record

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client, staff_user):
    return factories.staff_sign_in(client, staff_user)


def test_staff_see_every_organizations_history_read_only(
    staff_client, organization, other_organization
):
    record(organization, subject="mine@x.test")
    theirs = record(other_organization, subject="theirs@x.test")

    listing = staff_client.get(reverse("admin:portal_syncevent_changelist"))
    change = staff_client.post(
        reverse("admin:portal_syncevent_change", args=[theirs.pk]), {"subject": "tampered"}
    )

    assert "mine@x.test" in listing.text and "theirs@x.test" in listing.text
    assert change.status_code == 403
    assert staff_client.get(reverse("admin:portal_syncevent_add")).status_code == 403


def test_staff_see_each_organizations_health(staff_client, organization, token):
    record(organization, status_code=401, operation="test_connection")

    response = staff_client.get(reverse("admin:portal_organizationhealth_changelist"))
    detail = staff_client.get(
        reverse("admin:portal_organizationhealth_change", args=[organization.pk])
    )

    assert response.status_code == 200
    assert organization.name in response.text
    assert "critical" in response.text
    assert "The last Test Connection failed with HTTP 401." in detail.text


def test_staff_create_a_tenant_admin_without_a_password_or_a_link(staff_client, organization):
    response = staff_client.post(
        reverse("admin:portal_tenantadmin_add"),
        {
            "username": "carol.admin",
            "email": "carol@riverside.test",
            "is_active": "on",
            "portal_memberships-TOTAL_FORMS": "1",
            "portal_memberships-INITIAL_FORMS": "0",
            "portal_memberships-0-organization": str(organization.pk),
        },
        follow=True,
    )

    user = get_user_model().objects.get(username="carol.admin")
    assert not user.has_usable_password() and not user.is_staff
    assert PortalMembership.objects.get(user=user).organization == organization
    assert response.redirect_chain[-1][0] == reverse(
        "admin:portal_tenantadmin_change", args=[user.pk]
    )
    assert "/portal/set-password/" not in response.text
    assert "Create set-password link" in response.text


def test_the_admin_changes_memberships_through_the_service(
    staff_client, organization, other_organization, staff_user
):
    from portal import services

    user = services.create_tenant_admin(
        username="dan.admin", email="d@x.test", organizations=[organization], actor=None
    )
    membership = PortalMembership.objects.get(user=user)
    staff_client.post(
        reverse("admin:portal_tenantadmin_change", args=[user.pk]),
        {
            "username": "dan.admin",
            "email": "d@x.test",
            "is_active": "on",
            "portal_memberships-TOTAL_FORMS": "2",
            "portal_memberships-INITIAL_FORMS": "1",
            "portal_memberships-0-id": str(membership.pk),
            "portal_memberships-0-user": str(user.pk),
            "portal_memberships-0-organization": str(organization.pk),
            "portal_memberships-0-DELETE": "on",
            "portal_memberships-1-organization": str(other_organization.pk),
        },
    )

    kept = PortalMembership.objects.get(user=user)
    assert (kept.organization, kept.created_by) == (other_organization, staff_user)


def test_issuing_an_api_key_shows_it_once_and_stores_a_hash(staff_client, organization):
    response = staff_client.post(
        reverse("admin:portal_historyapikey_add"),
        {
            "organization": str(organization.pk),
            "label": "Splunk",
        },
        follow=True,
    )

    key = HistoryApiKey.objects.get()
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    plaintext = response.context["plaintext"]
    assert plaintext.startswith(f"k2h_{key.key}_")
    assert plaintext not in repr(HistoryApiKey.objects.values().get())
    listing = staff_client.get(reverse("admin:portal_historyapikey_changelist"))
    assert plaintext not in listing.text
    reload = staff_client.get(reverse("admin:portal_historyapikey_secret", args=[key.pk]))
    assert reload.context["plaintext"] is None and plaintext not in reload.text
