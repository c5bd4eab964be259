"""Staff see organizations at risk on the admin index and a health banner on each
organization's page, with last sync and the credential Azure uses."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from organizations.services import rotate_token
from portal.models import Operation
from tests import factories

from .conftest import record

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client, staff_user):
    factories.staff_sign_in(client, staff_user)
    return client


def _used(organization, token_row, minutes_ago: float = 1):
    record(
        organization,
        operation=Operation.LIST_USERS,
        status_code=200,
        token=token_row,
        at=timezone.now() - timedelta(minutes=minutes_ago),
    )


def test_the_admin_index_lists_an_organization_at_risk_with_last_sync_and_credential(
    staff_client, organization, token
):
    rotate_token(token[0], actor=None)
    _used(organization, token[0])

    response = staff_client.get(reverse("admin:index"))

    [(listed, health)] = [(org, h) for org, h in response.context["at_risk"]]
    assert listed == organization
    assert "still uses the old token" in response.text
    assert token[0].display_prefix in response.text
    assert health.last_request_at is not None


def test_a_healthy_organization_is_not_at_risk_on_the_admin_index(
    staff_client, organization, token
):
    _used(organization, token[0])

    response = staff_client.get(reverse("admin:index"))

    assert response.context["at_risk"] == []
    assert "are healthy" in response.text


def test_the_organization_page_opens_with_its_health_banner(
    staff_client, organization, token, other_organization
):
    _used(organization, token[0], minutes_ago=200)

    response = staff_client.get(
        reverse("admin:organizations_organization_change", args=[organization.pk])
    )

    banner = response.text.split('data-testid="health-banner"')[1].split("</div>")[0]
    assert "Provisioning health: Warning" in banner
    assert "Azure AD has sent nothing for 3 h 20 min" in banner
    assert token[0].display_prefix in banner
    assert other_organization.name not in banner


@pytest.mark.parametrize("count", [2, 10])
def test_the_admin_index_costs_the_same_queries_for_any_number_of_organizations(
    staff_client, django_assert_max_num_queries, count
):
    for n in range(count):
        organization = factories.make_organization(name=f"Clinic {n}", slug=f"c-{n}")
        row, _ = factories.make_token(organization)
        _used(organization, row, minutes_ago=300)

    with django_assert_max_num_queries(12):
        response = staff_client.get(reverse("admin:index"))

    assert len(response.context["at_risk"]) == count
