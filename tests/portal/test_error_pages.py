"""Error pages in the portal's look, each with a way back home (issue 20)."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client, RequestFactory
from django.urls import reverse
from django.views.defaults import server_error

from portal.models import PortalMembership, PortalRole


def _home_link(page: str) -> str:
    return page.split('data-testid="error-home"')[0].rsplit("<a ", 1)[1]


@pytest.mark.django_db
def test_a_missing_page_is_in_the_portals_look_with_a_link_home(tenant_client):
    response = tenant_client.get("/portal/o/no-such-clinic/")

    assert response.status_code == 404
    page = response.text
    assert "Page not found" in page
    assert "Kno2 provisioning" in page
    assert f'href="{reverse("portal:home")}"' in _home_link(page)


@pytest.mark.django_db
def test_a_forbidden_page_says_why_with_a_link_home(organization):
    viewer = get_user_model().objects.create_user(username="vic", password="x-Long-enough-1")
    PortalMembership.objects.create(user=viewer, organization=organization, role=PortalRole.VIEWER)
    client = Client()
    client.force_login(viewer)

    response = client.get(reverse("portal:provisioning", args=[organization.slug]))

    assert response.status_code == 403
    assert "You cannot open this page" in response.text
    assert f'href="{reverse("portal:home")}"' in _home_link(response.text)


def test_the_server_error_page_renders_without_the_database_or_context_processors():
    # No django_db mark: any database access here fails the test.
    response = server_error(RequestFactory().get("/portal/"))

    assert response.status_code == 500
    page = response.content.decode()
    assert "Something went wrong on our side" in page
    assert 'href="/portal/"' in _home_link(page)
