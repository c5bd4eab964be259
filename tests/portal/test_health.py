from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from oauth import services as oauth
from oauth.models import OAuthClientSecret
from organizations.services import (
    disable_provisioning_for,
    issue_token,
    revoke_token,
    rotate_token,
)
from portal import health, services
from portal.models import SyncCycle
from scim.calls import Operation
from tests import factories

from .conftest import record

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("failures", "events", "expected"),
    [
        (45_000, 45_000, health.CRITICAL),  # Azure's examples (docs/azure-scim-client.md §3.8)
        (30_000, 35_000, health.CRITICAL),
        (20_000, 120_000, health.WARNING),  # below Azure's rules, but worth a warning
        (61_000, 1_000_000, health.CRITICAL),  # absolute limit
        (4_000, 4_100, health.WARNING),  # under 5,000: Azure has not started evaluating
        (10, 1_000, health.OK),
        (5, 10, health.OK),  # too few requests to judge a rate
        (6, 25, health.WARNING),
        (19, 100, health.OK),  # just under HEALTH_WARN_FAILURE_PERCENT (20)
        (20, 100, health.WARNING),  # at it
        (50, 1_000, health.OK),  # 5 %: a percent read per mille would warn
    ],
)
def test_quarantine_risk_follows_azure_rules_and_warns_before(failures, events, expected):
    assert health.quarantine_risk(failures, events) == expected


def _cycle(organization, *, events: int, failures: int, hours_ago: float = 1):
    at = timezone.now() - timedelta(hours=hours_ago)
    SyncCycle.objects.create(
        organization=organization, started_at=at, last_event_at=at, events=events, failures=failures
    )


def test_a_healthy_organization_has_no_findings(organization, token):
    _cycle(organization, events=500, failures=3)

    result = health.organization_health(organization)

    assert result.level == health.OK
    assert result.findings == []


def test_warns_when_the_failure_rate_climbs_toward_quarantine(organization, token):
    _cycle(organization, events=100, failures=30)

    result = health.organization_health(organization)

    assert result.level == health.WARNING
    assert "30 of 100 requests failed" in result.findings[0][1]


def test_old_cycles_do_not_count(organization, token, settings):
    settings.HEALTH_WINDOW_HOURS = 24
    _cycle(organization, events=100, failures=100, hours_ago=30)

    result = health.organization_health(organization)

    assert (result.events, result.failures) == (0, 0)
    assert not any("requests failed" in message for _, message in result.findings)


def test_refused_authentications_are_counted_beside_the_verdict_not_in_it(organization, token):
    _cycle(organization, events=500, failures=3)
    for _ in range(12):
        services.count_failed_authentication(organization.public_id, at=timezone.now())

    result = health.organization_health(organization)

    assert result.failed_authentications == 12
    assert (result.level, result.findings) == (health.OK, [])


def test_refused_authentications_older_than_the_window_are_not_counted(organization, settings):
    settings.HEALTH_WINDOW_HOURS = 24
    services.count_failed_authentication(
        organization.public_id, at=timezone.now() - timedelta(hours=26)
    )
    services.count_failed_authentication(organization.public_id, at=timezone.now())

    assert health.organization_health(organization).failed_authentications == 1


def test_reports_whether_the_last_test_connection_succeeded(organization, token):
    record(
        organization,
        operation=Operation.TEST_CONNECTION,
        status_code=500,
        at=timezone.now() - timedelta(minutes=5),
    )
    record(organization, operation=Operation.TEST_CONNECTION, status_code=200)

    result = health.organization_health(organization)

    assert result.last_test_connection.succeeded
    assert result.level == health.OK


def test_a_failed_last_test_connection_is_critical(organization, token):
    record(organization, operation=Operation.TEST_CONNECTION, status_code=404)

    result = health.organization_health(organization)

    assert result.level == health.CRITICAL
    assert any("Test Connection failed" in message for _, message in result.findings)


@pytest.mark.parametrize(
    ("days", "expected"),
    [
        (90, health.OK),
        (29, health.WARNING),
        (6, health.CRITICAL),
    ],
)
def test_warns_about_token_expiry_at_30_and_7_days(organization, days, expected):
    row, _ = issue_token(organization, actor=None, expires_days=days)
    _request_with(organization, row)  # called once: never called is its own state (issue 20)

    assert health.organization_health(organization).level == expected


def test_no_active_token_is_critical(organization, token):
    revoke_token(token[0], actor=None)

    result = health.organization_health(organization)

    assert result.level == health.CRITICAL
    assert "No active provisioning token" in result.findings[0][1]


def test_an_organization_on_oauth_client_credentials_alone_is_not_told_it_has_no_token(
    organization,
):
    factories.make_oauth_client(organization)
    _cycle(organization, events=500, failures=3)
    result = health.organization_health(organization)
    assert result.findings == []


def test_an_expiring_oauth_client_secret_is_warned_about(organization):
    client, _ = factories.make_oauth_client(organization)
    OAuthClientSecret.objects.filter(client=client).update(
        expires_at=timezone.now() + timedelta(days=3, hours=1)
    )
    result = health.organization_health(organization)
    [(level, message)] = result.findings
    assert level == health.CRITICAL
    assert message.startswith("The OAuth client secret expires in 3 d (")


def test_a_workload_identity_federation_never_expires(organization, settings):
    settings.ENTRA_AUTHORITY_HOST = "https://login.microsoftonline.com"
    oauth.configure_workload_identity(
        organization,
        subject="s",
        audience="api://a",
        actor=None,
        issuer=f"https://login.microsoftonline.com/{organization.sso_tenant_id}/v2.0",
    )
    _cycle(organization, events=500, failures=3)
    assert health.organization_health(organization).findings == []


# -- credentials, silence and failed authentications ------------------------------------------


def _request_with(organization, token_row, *, minutes_ago: float = 1, status_code: int = 200):
    record(
        organization,
        operation=Operation.LIST_USERS,
        status_code=status_code,
        token=token_row,
        at=timezone.now() - timedelta(minutes=minutes_ago),
    )


def test_every_active_credential_is_listed_with_its_expiry(organization):
    first, _ = issue_token(organization, actor=None, expires_days=100)
    second, _ = issue_token(organization, actor=None, expires_days=200)

    credentials = health.organization_health(organization).credentials

    assert [(c.prefix, c.expires_at) for c in credentials] == [
        (first.display_prefix, first.expires_at),
        (second.display_prefix, second.expires_at),
    ]


def test_the_credential_in_use_is_the_one_of_azures_latest_request(organization):
    first, _ = issue_token(organization, actor=None)
    second, _ = issue_token(organization, actor=None)
    _request_with(organization, second, minutes_ago=5)
    _request_with(organization, first, minutes_ago=1)

    credentials = health.organization_health(organization).credentials

    assert [c.in_use for c in credentials] == [True, False]


def test_after_a_rotation_warns_while_azure_uses_the_old_token_and_says_when_it_stops(
    organization, token
):
    new, _ = rotate_token(token[0], actor=None)
    old = type(token[0]).objects.get(pk=token[0].pk)
    _request_with(organization, old)

    result = health.organization_health(organization)

    [message] = [m for _, m in result.findings if "still uses the old token" in m]
    assert old.display_prefix in message
    assert f"stops working on {old.expires_at:%Y-%m-%d %H:%M} UTC" in message
    assert new.display_prefix in message
    # Still inside its grace period: a warning with its end date (issue 20), no longer critical.
    assert result.level == health.WARNING


def test_the_rotation_warning_clears_once_azure_uses_the_new_token(organization, token):
    new, _ = rotate_token(token[0], actor=None)
    _request_with(organization, token[0], minutes_ago=10)
    _request_with(organization, new, minutes_ago=1)

    result = health.organization_health(organization)

    assert not any("still uses the old token" in m for _, m in result.findings)
    assert result.level == health.OK


def test_another_organizations_requests_never_make_a_credential_in_use(
    organization, other_organization, token
):
    other_token, _ = issue_token(other_organization, actor=None)
    _request_with(other_organization, other_token)

    assert health.organization_health(organization).in_use is None


def test_silence_past_the_configured_minutes_is_a_warning(organization, token, settings):
    settings.HEALTH_SILENCE_MINUTES = 80
    _request_with(organization, token[0], minutes_ago=81)

    result = health.organization_health(organization)

    assert result.level == health.WARNING
    assert any("Azure AD has sent nothing for 1 h 21 min" in m for _, m in result.findings)


def test_a_request_within_two_cycles_is_not_silence(organization, token, settings):
    settings.HEALTH_SILENCE_MINUTES = 80
    _request_with(organization, token[0], minutes_ago=79)

    assert health.organization_health(organization).silent_for is None


def test_silence_while_provisioning_is_off_is_not_reported_as_silence(organization, token):
    _request_with(organization, token[0], minutes_ago=600)
    disable_provisioning_for(organization, actor=None)

    assert health.organization_health(organization).silent_for is None


@pytest.mark.parametrize("count", [1, 12])
def test_the_health_of_any_number_of_organizations_costs_five_queries(
    django_assert_num_queries, count
):
    from tests import factories

    organizations = [
        factories.make_organization(name=f"Clinic {n}", slug=f"clinic-{n}") for n in range(count)
    ]
    for organization in organizations:
        row, _ = issue_token(organization, actor=None)
        _request_with(organization, row)

    # Counters, latest events, those events, tokens, OAuth clients.
    with django_assert_num_queries(5):
        results = health.organizations_health(organizations)

    assert all(result.credentials[0].in_use for result in results.values())


def _become_okta(organization):
    from organizations.services import set_sso_issuer

    set_sso_issuer(
        organization, "http://www.okta.com/exk1fcia6d6EMsf331d8", kind="okta", actor=None
    )


def test_an_okta_organization_is_warned_at_the_same_failure_rate_without_azures_rules(
    organization, token
):
    _become_okta(organization)
    _cycle(organization, events=100, failures=30)

    result = health.organization_health(organization)

    assert result.level == health.WARNING
    assert "30 of 100 requests failed" in result.findings[0][1]
    assert "Azure" not in result.findings[0][1]


def test_an_entra_organization_is_told_of_azures_quarantine(organization, token):
    _cycle(organization, events=100, failures=30)

    assert (
        "Azure AD quarantines a job past 40 % failing"
        in (health.organization_health(organization).findings[0][1])
    )


def test_a_silent_okta_organization_is_sent_to_okta_not_azure(organization, token, settings):
    _become_okta(organization)
    settings.HEALTH_SILENCE_MINUTES = 80
    _request_with(organization, token[0], minutes_ago=81)

    result = health.organization_health(organization)

    silence = next(m for _, m in result.findings if "has sent nothing" in m)
    assert silence.startswith("Okta has sent nothing for 1 h 21 min")
    assert "Okta Admin Console" in silence
    assert "Azure" not in silence


# -- states: waiting, switched off; refused creates ------------------------------------------


def test_an_organization_azure_never_called_is_waiting_for_its_first_request(organization, token):
    result = health.organization_health(organization)

    assert result.level == health.WAITING
    assert result.label == "Waiting for Azure's first request"
    assert not result.at_risk


def test_an_okta_organization_never_called_waits_for_oktas_first_request(organization, token):
    _become_okta(organization)

    assert health.organization_health(organization).label == "Waiting for Okta's first request"


def test_provisioning_switched_off_is_its_own_state_not_critical(organization, token):
    revoke_token(token[0], actor=None)
    disable_provisioning_for(organization, actor=None)

    result = health.organization_health(organization)

    assert result.level == health.OFF
    assert result.label == "Provisioning switched off"
    assert not result.at_risk


def test_a_create_refused_and_not_created_since_is_a_warning_that_names_it(organization, token):
    _request_with(organization, token[0])
    record(organization, status_code=409, subject="bob@x.test", error_type="uniqueness")

    result = health.organization_health(organization)

    assert result.level == health.WARNING
    [message] = [m for _, m in result.findings if "refused" in m]
    assert "bob@x.test" in message


def test_a_refused_create_that_later_succeeded_is_no_longer_a_finding(organization, token):
    _request_with(organization, token[0])
    record(
        organization,
        status_code=409,
        subject="bob@x.test",
        at=timezone.now() - timedelta(minutes=40),
    )
    record(organization, status_code=201, subject="BOB@x.test")

    result = health.organization_health(organization)

    assert result.findings == []
    assert result.level == health.OK
