"""Property tests of the portal pages and the history API, signed in: whatever a browser or a
SIEM sends, the answer is a page or a 4xx, never a 5xx, and never another organization's data.

Sized for CI (300 examples in all, derandomized); ``bench/fuzz_portal.py`` runs the
same idea at scale against gunicorn.
"""

from __future__ import annotations

import base64
from urllib.parse import quote

import pytest
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal import services

from .conftest import record

pytestmark = pytest.mark.django_db

FUZZ = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
# Only the other organization's event carries it, and no strategy below can produce it.
OTHER_SECRET = "other-org-request-3f9b1c"

HOSTILE = st.sampled_from(
    [
        "\x00",
        "a\x00b",
        "%00",
        "\u202e",
        "漢字",
        "'; DROP TABLE x; --",
        "x" * 400,
        "",
        " ",
        "2026-12-01T10:00:00+23:59",
        "9999-12-31T23:59:59-23:59",
        "0001-01-01T00:00",
        "2026-13-45T99:99",
        "2026-12-01T10:00:00+00:00_1",
        "_",
        "2026-12-01T10:00:00+00:00_-1",
        "2026-12-01 10:00:00+00:00_99999999999999999999",
        "ann@x.test",
        "riverside",
        "lakeside",
    ]
)
TEXT = st.one_of(HOSTILE, st.text(st.characters(blacklist_categories=("Cs",)), max_size=30))
PAGE_PARAMS = ["operation", "outcome", "user", "since", "until", "before", "after", "q", "page"]
API_PARAMS = ["operation", "outcome", "user", "since", "until", "page_size"]


def _drf_cursor(draw_text: str) -> str:
    return base64.b64encode(f"o=0&p={quote(draw_text)}".encode()).decode()


CURSORS = st.one_of(TEXT, TEXT.map(_drf_cursor))


@pytest.fixture
def browser(tenant_admin, organization, other_organization) -> Client:
    """The tenant admin, signed in, with history here and in the other organization."""
    record(organization, subject="ann@x.test")
    record(organization, subject="bob@x.test", status_code=409, error_type="uniqueness")
    record(other_organization, subject="stranger@lakeside.test", request_id=OTHER_SECRET)
    client = Client(raise_request_exception=False)
    client.force_login(tenant_admin)
    return client


@FUZZ
@given(
    params=st.dictionaries(st.sampled_from(PAGE_PARAMS), TEXT, max_size=4),
    page=st.sampled_from(
        ["portal:event_list", "portal:user_list", "portal:group_list", "portal:dashboard"]
    ),
)
def test_any_page_query_answers_a_page_or_a_client_error(browser, organization, page, params):
    response = browser.get(reverse(page, args=[organization.slug]), params)

    assert response.status_code in {200, 400, 404}, (params, response.status_code)
    assert OTHER_SECRET not in response.content.decode()


@FUZZ
@given(
    params=st.dictionaries(
        st.sampled_from(["operation", "outcome", "user", "since", "until"]), TEXT, max_size=4
    )
)
def test_any_csv_export_query_streams_to_the_end(browser, organization, params):
    response = browser.get(reverse("portal:event_csv", args=[organization.slug]), params)

    assert response.status_code == 200
    body = b"".join(response.streaming_content).decode()
    assert body.startswith("time,")
    assert OTHER_SECRET not in body


@FUZZ
@given(
    key=TEXT.filter(lambda key: key.strip("/.")),
    kind=st.sampled_from(["users", "groups"]),
    params=st.dictionaries(st.sampled_from(["before", "after"]), TEXT, max_size=1),
)
def test_any_timeline_path_answers_a_page_or_404(browser, organization, kind, key, params):
    path = f"/portal/o/{organization.slug}/{kind}/{quote(key, safe='')}/"

    response = browser.get(path, params)

    assert response.status_code in {200, 404}, (key, params, response.status_code)
    assert OTHER_SECRET not in response.content.decode()


@FUZZ
@given(
    params=st.dictionaries(st.sampled_from(API_PARAMS), TEXT, max_size=4),
    cursor=st.none() | CURSORS,
)
def test_any_history_api_query_answers_json_or_a_client_error(
    organization, other_organization, params, cursor
):
    record(other_organization, subject="stranger@lakeside.test", request_id=OTHER_SECRET)
    _, key = services.issue_history_api_key(organization, actor=None, label="SIEM")
    if cursor is not None:
        params = {**params, "cursor": cursor}

    response = Client(raise_request_exception=False).get(
        reverse("portal:api_events", args=[organization.slug]),
        params,
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )

    assert response.status_code in {200, 400, 404}, (params, response.status_code)
    assert response["Content-Type"] == "application/json"
    assert OTHER_SECRET not in response.content.decode()


@FUZZ
@given(org=TEXT)
def test_the_organization_switch_never_reaches_another_organization(
    browser, other_organization, org
):
    response = browser.get(reverse("portal:home"), {"org": org})

    assert response.status_code in {302, 404}
    assert other_organization.slug not in response.get("Location", "")
