import pytest
import requests
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from tests import factories
from tests.conftest import TEST_ENV

SCRAPER = {"HTTP_AUTHORIZATION": f"Bearer {TEST_ENV['METRICS_TOKEN']}"}


def _scrape(client: Client) -> str:
    return client.get("/metrics", **SCRAPER).content.decode()


@pytest.fixture(autouse=True)
def _metrics_token(settings):
    """The scraper's key, the same as the gunicorn server the tests start (TEST_ENV)."""
    settings.METRICS_TOKEN = TEST_ENV["METRICS_TOKEN"]
    settings.METRICS_ALLOWED_ADDRESSES = []


def _sample(text: str, organization: str, operation: str, status: str) -> float:
    """The value of the SCIM request counter with these labels in a /metrics page."""
    wanted = {"organization": organization, "operation": operation, "status": status}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "kno2prov_scim_requests_total" and sample.labels == wanted:
                return sample.value
    return 0.0


@pytest.mark.django_db
def test_scim_requests_are_counted_by_organization_operation_and_status(
    client, organization, token
):
    _, plaintext = token
    before = _sample(_scrape(client), organization.slug, "list_users", "200")
    response = client.get(
        f"/scim/v2/{organization.public_id}/Users",
        {"filter": 'userName eq "nobody@example.com"'},
        HTTP_AUTHORIZATION=f"Bearer {plaintext}",
    )
    after = _sample(_scrape(client), organization.slug, "list_users", "200")
    assert response.status_code == 200
    assert after == before + 1


@pytest.mark.django_db
def test_refused_scim_requests_are_counted_without_an_organization(client, organization):
    before = _sample(_scrape(client), "-", "list_users", "401")
    client.get(f"/scim/v2/{organization.public_id}/Users")
    after = _sample(_scrape(client), "-", "list_users", "401")
    assert after == before + 1


@pytest.mark.django_db
def test_metrics_are_refused_to_remote_clients_without_the_metrics_token(settings):
    settings.METRICS_TOKEN = ""
    response = Client(REMOTE_ADDR="203.0.113.9").get("/metrics")
    assert response.status_code == 404


@pytest.mark.django_db
def test_a_loopback_client_without_the_key_is_refused(settings):
    """Behind a reverse proxy on the same host, every client's address is loopback."""
    settings.METRICS_TOKEN = ""
    response = Client(REMOTE_ADDR="127.0.0.1").get("/metrics")
    assert response.status_code == 404


@pytest.mark.django_db
def test_an_allow_listed_address_may_scrape_without_the_key(settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_ADDRESSES = ["10.0.5.0/24"]
    allowed = Client(REMOTE_ADDR="10.0.5.7").get("/metrics")
    other = Client(REMOTE_ADDR="10.0.6.7").get("/metrics")
    assert (allowed.status_code, other.status_code) == (200, 404)


@pytest.mark.django_db
def test_metrics_token_opens_metrics_to_a_remote_scraper(settings):
    settings.METRICS_TOKEN = "scrape-secret"
    remote = Client(REMOTE_ADDR="203.0.113.9")
    assert remote.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 404
    response = remote.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-secret")
    assert response.status_code == 200
    assert b"kno2prov_scim_request_duration_seconds" in response.content


@pytest.mark.django_db(transaction=True)
def test_counts_add_up_across_gunicorn_workers(gunicorn_server):
    organization = factories.make_organization(slug="metrics-across-workers")
    _, plaintext = factories.make_token(organization)
    url = f"{gunicorn_server.url}/scim/v2/{organization.public_id}/Users"
    sent = 24
    for n in range(sent):
        # A new connection each time, so gunicorn spreads the requests over its workers.
        response = requests.get(
            url,
            params={"filter": f'userName eq "nobody{n}@example.com"'},
            headers={"Authorization": f"Bearer {plaintext}", "Connection": "close"},
            timeout=10,
        )
        assert response.status_code == 200
    scraped = requests.get(
        f"{gunicorn_server.url}/metrics",
        headers={"Authorization": SCRAPER["HTTP_AUTHORIZATION"]},
        timeout=10,
    ).text
    assert _sample(scraped, organization.slug, "list_users", "200") == sent
