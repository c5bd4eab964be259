from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from organizations.services import issue_token, revoke_token
from portal import health, services
from portal.models import SyncCycle
from scim.calls import Operation

from .conftest import record

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("failures", "events", "expected"), [
    (45_000, 45_000, health.CRITICAL),     # Azure's examples (docs/azure-scim-client.md §3.8)
    (30_000, 35_000, health.CRITICAL),
    (20_000, 120_000, health.WARNING),     # below Azure's rules, but worth a warning
    (61_000, 1_000_000, health.CRITICAL),  # absolute limit
    (4_000, 4_100, health.WARNING),        # under 5,000: Azure has not started evaluating
    (10, 1_000, health.OK),
    (5, 10, health.OK),                    # too few requests to judge a rate
    (6, 25, health.WARNING),
])
def test_quarantine_risk_follows_azure_rules_and_warns_before(failures, events, expected):
    assert health.quarantine_risk(failures, events) == expected


def _cycle(organization, *, events: int, failures: int, hours_ago: float = 1):
    at = timezone.now() - timedelta(hours=hours_ago)
    SyncCycle.objects.create(organization=organization, started_at=at, last_event_at=at,
                             events=events, failures=failures)


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

    assert health.organization_health(organization).level == health.OK


def test_refused_authentications_are_counted_beside_the_verdict_not_in_it(organization, token):
    _cycle(organization, events=500, failures=3)
    for _ in range(12):
        services.count_failed_authentication(organization.public_id, at=timezone.now())

    result = health.organization_health(organization)

    assert result.failed_authentications == 12
    assert (result.level, result.findings) == (health.OK, [])


def test_refused_authentications_older_than_the_window_are_not_counted(organization, settings):
    settings.HEALTH_WINDOW_HOURS = 24
    services.count_failed_authentication(organization.public_id,
                                         at=timezone.now() - timedelta(hours=26))
    services.count_failed_authentication(organization.public_id, at=timezone.now())

    assert health.organization_health(organization).failed_authentications == 1


def test_reports_whether_the_last_test_connection_succeeded(organization, token):
    record(organization, operation=Operation.TEST_CONNECTION, status_code=500,
           at=timezone.now() - timedelta(minutes=5))
    record(organization, operation=Operation.TEST_CONNECTION, status_code=200)

    result = health.organization_health(organization)

    assert result.last_test_connection.succeeded
    assert result.level == health.OK


def test_a_failed_last_test_connection_is_critical(organization, token):
    record(organization, operation=Operation.TEST_CONNECTION, status_code=404)

    result = health.organization_health(organization)

    assert result.level == health.CRITICAL
    assert any("Test Connection failed" in message for _, message in result.findings)


@pytest.mark.parametrize(("days", "expected"), [
    (90, health.OK), (29, health.WARNING), (6, health.CRITICAL),
])
def test_warns_about_token_expiry_at_30_and_7_days(organization, days, expected):
    issue_token(organization, actor=None, expires_days=days)

    assert health.organization_health(organization).level == expected


def test_no_active_token_is_critical(organization, token):
    revoke_token(token[0], actor=None)

    result = health.organization_health(organization)

    assert result.level == health.CRITICAL
    assert "No active provisioning token" in result.findings[0][1]
