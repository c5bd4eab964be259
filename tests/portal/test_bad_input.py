"""Hostile input to the portal pages and the history API, signed in: a 4xx, never a 5xx.

A NUL character cannot even be sent to PostgreSQL as a query parameter, and cursors come back
from the query string, so each of these reached the database and answered 500 before.
"""

from __future__ import annotations

import base64

import pytest
from django.test import Client
from django.urls import reverse

from portal import services

from .conftest import record

pytestmark = pytest.mark.django_db


def _drf_cursor(query: str) -> str:
    """A cursor shaped as DRF's ``CursorPagination`` encodes one, with a forged position."""
    return base64.b64encode(query.encode()).decode()


@pytest.fixture
def browser(tenant_admin) -> Client:
    """A signed-in tenant admin whose server errors become responses, as in production."""
    client = Client(raise_request_exception=False)
    client.force_login(tenant_admin)
    return client


@pytest.fixture
def api_key(organization) -> str:
    return services.issue_history_api_key(organization, actor=None, label="Splunk")[1]


@pytest.mark.parametrize(
    ("page", "params", "status"),
    [
        ("portal:user_list", {"q": "ann\x00"}, 400),
        ("portal:group_list", {"q": "\x00"}, 400),
        ("portal:event_list", {"before": "x"}, 404),
        ("portal:event_list", {"after": "\x00_1"}, 404),
        ("portal:event_list", {"before": "2026-13-01T00:00:00+00:00_1"}, 404),
        ("portal:event_list", {"after": "9999-12-31T23:59:59-23:59_1"}, 404),
        ("portal:event_list", {"after": "2026-01-01T00:00:00+23:59_1"}, 200),
        ("portal:event_list", {"before": "2026-01-01T00:00:00+00:00_-1"}, 404),
    ],
)
def test_hostile_page_parameters_answer_a_client_error(browser, organization, page, params, status):
    record(organization)

    response = browser.get(reverse(page, args=[organization.slug]), params)

    assert response.status_code == status


@pytest.mark.parametrize(
    "path",
    [
        "/portal/o/riverside/users/ann%00/",
        "/portal/o/riverside/groups/%00/",
        "/portal/?org=river%00side",
    ],
)
def test_a_nul_in_a_path_or_the_organization_switch_answers_404(browser, organization, path):
    assert browser.get(path).status_code == 404


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"user": "ann\x00"}, 400),
        ({"operation": "create_user\x00"}, 400),
        ({"since": "9999-12-31T23:59:59-23:59"}, 400),
        ({"until": "2026-01-01T00:00:00+23:00"}, 200),
        ({"cursor": _drf_cursor("p=garbage")}, 404),
        ({"cursor": _drf_cursor("p=%00")}, 404),
        ({"cursor": _drf_cursor("r=1&p=2026-13-01")}, 404),
        ({"cursor": _drf_cursor("o=0&p=2026-01-01 00:00:00%2B23:59")}, 200),
        ({"cursor": "not base64 at all"}, 404),
    ],
)
def test_hostile_api_parameters_answer_a_client_error(organization, api_key, params, status):
    record(organization)

    response = Client(raise_request_exception=False).get(
        reverse("portal:api_events", args=[organization.slug]),
        params,
        HTTP_AUTHORIZATION=f"Bearer {api_key}",
    )

    assert response.status_code == status


def test_a_cursor_of_the_event_list_still_pages_after_the_checks(browser, organization, settings):
    settings.PORTAL_PAGE_SIZE = 1
    record(organization, subject="old@x.test")
    record(organization, subject="new@x.test")
    url = reverse("portal:event_list", args=[organization.slug])

    first = browser.get(url).context["page"]
    second = browser.get(url, {"before": first.older_cursor}).context["page"]

    assert [e.subject for e in second.events] == ["old@x.test"]


def test_another_organizations_slug_with_a_nul_reveals_nothing(browser, other_organization):
    response = browser.get(reverse("portal:home"), {"org": f"{other_organization.slug}\x00"})

    assert response.status_code == 404


@pytest.mark.parametrize("moment", ["2026-12-01T10:00:00+23:59", "9999-12-31T23:59:59-23:59"])
@pytest.mark.parametrize("page", ["portal:event_list", "portal:event_csv"])
def test_a_time_filter_out_of_the_databases_range_is_ignored_like_any_invalid_filter(
    browser, organization, page, moment
):
    record(organization, subject="ann@x.test")

    response = browser.get(reverse(page, args=[organization.slug]), {"since": moment})

    assert response.status_code == 200
    body = (
        response.text
        if page == "portal:event_list"
        else b"".join(response.streaming_content).decode()
    )
    assert "ann@x.test" in body
