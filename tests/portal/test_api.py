from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from portal import services
from portal.models import HistoryApiKey
from tests import factories

from .conftest import record

pytestmark = pytest.mark.django_db


@pytest.fixture
def api_key(organization):
    return services.issue_history_api_key(organization, actor=None, label="Splunk")


def _get(plaintext: str, slug: str, **params):
    return Client().get(
        reverse("portal:api_events", args=[slug]), params, HTTP_AUTHORIZATION=f"Bearer {plaintext}"
    )


def test_the_api_lists_events_with_an_api_key(organization, api_key):
    record(organization, subject="ann@x.test", status_code=409, error_type="uniqueness")

    response = _get(api_key[1], organization.slug)

    assert response.status_code == 200
    result = response.json()["results"][0]
    assert (result["subject"], result["outcome"], result["error_type"]) == (
        "ann@x.test",
        "failure",
        "uniqueness",
    )


def test_the_api_filters_like_the_event_list(organization, api_key):
    record(organization, subject="ann@x.test")
    record(organization, subject="bob@x.test", status_code=500)

    response = _get(api_key[1], organization.slug, outcome="failure")

    assert [r["subject"] for r in response.json()["results"]] == ["bob@x.test"]


def test_the_api_pages_with_a_cursor(organization, api_key, settings):
    settings.PORTAL_PAGE_SIZE = 2
    for n in range(3):
        record(organization, subject=f"user{n}@x.test")

    first = _get(api_key[1], organization.slug).json()
    second = Client().get(first["next"], HTTP_AUTHORIZATION=f"Bearer {api_key[1]}").json()

    assert len(first["results"]) == 2
    assert len(second["results"]) == 1


def test_an_api_key_cannot_read_another_organization(organization, other_organization, api_key):
    record(other_organization)

    assert _get(api_key[1], other_organization.slug).status_code == 404


def test_the_api_refuses_a_wrong_or_revoked_key(organization, api_key):
    services.revoke_history_api_key(api_key[0], actor=None)

    assert _get(api_key[1], organization.slug).status_code == 401
    assert _get("k2h_nonsense", organization.slug).status_code == 401


def test_the_api_key_with_the_right_key_and_checksum_but_another_secret_is_refused(
    organization, api_key
):
    record(organization)

    response = _get(factories.same_key_wrong_secret(api_key[1]), organization.slug)

    assert response.status_code == 401
    assert "results" not in response.json()


def test_the_api_refuses_anonymous_requests(client, organization):
    response = client.get(reverse("portal:api_events", args=[organization.slug]))

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="sync-history"'


def test_a_provisioning_token_is_not_an_api_key(organization, token):
    assert _get(token[1], organization.slug).status_code == 401


def test_only_a_hash_of_the_api_key_is_stored(api_key):
    row = HistoryApiKey.objects.values().get()

    assert api_key[1] not in repr(row)
    assert api_key[1].startswith("k2h_")


def test_a_signed_in_tenant_admin_can_read_the_api(tenant_client, organization):
    record(organization)

    assert tenant_client.get(reverse("portal:api_events", args=[organization.slug])).json()[
        "results"
    ]
