"""Email alerts, driven by the clock: each condition is sent once until it clears."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command

from organizations.services import issue_token, revoke_tokens
from portal import alerts
from portal.models import AlertState, Operation
from tests import factories

from .conftest import make_tenant_admin, record

pytestmark = pytest.mark.django_db
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock(time_machine):
    time_machine.move_to(START, tick=False)
    return time_machine


@pytest.fixture
def alerting(settings, clock, organization):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.ALERT_STAFF_EMAIL = "provisioning-oncall@kno2.test"
    settings.HEALTH_SILENCE_MINUTES = 80
    make_tenant_admin(organization)
    token, _ = issue_token(organization, actor=None, expires_days=365)
    return token


def azure_calls(organization, token, at=None):
    record(
        organization,
        operation=Operation.LIST_USERS,
        status_code=200,
        token=token,
        at=at,
    )


def run() -> str:
    out = StringIO()
    call_command("send_alerts", stdout=out)
    return out.getvalue()


def test_a_healthy_organization_gets_no_alert(alerting, organization):
    azure_calls(organization, alerting)

    assert run() == "Sent 0 alert emails.\n"
    assert mail.outbox == []


def test_silence_is_emailed_to_tenant_admins_and_staff_once(alerting, organization, clock):
    azure_calls(organization, alerting)
    clock.shift(timedelta(minutes=81))

    run()
    run()

    [email] = mail.outbox
    assert sorted(email.to) == ["alice.admin@clinic.example", "provisioning-oncall@kno2.test"]
    assert "Azure AD has sent nothing for 1 h 21 min" in email.body
    assert email.subject == (
        f"[Kno2 provisioning] {organization.name}: health is warning, Azure AD has gone silent"
    )


def test_a_condition_that_clears_and_returns_is_sent_again(alerting, organization, clock):
    azure_calls(organization, alerting)
    clock.shift(timedelta(minutes=90))
    run()
    azure_calls(organization, alerting)  # Azure is back: the silence clears
    run()
    assert not AlertState.objects.filter(condition="silence").exists()
    clock.shift(timedelta(minutes=90))

    run()

    assert [
        ("silence" in email.body.lower() or "sent nothing" in email.body) for email in mail.outbox
    ] == [True, True]


@pytest.mark.parametrize(("days_left", "threshold"), [(29, 30), (6, 7)])
def test_a_token_nearing_expiry_is_emailed_at_30_and_7_days(
    settings, clock, organization, days_left, threshold
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    make_tenant_admin(organization)
    token, _ = issue_token(organization, actor=None, expires_days=40)
    clock.shift(timedelta(days=40 - days_left))
    azure_calls(organization, token)

    run()

    assert AlertState.objects.filter(condition=f"token:{token.display_prefix}:{threshold}").exists()
    assert any(
        f"token {token.display_prefix} expires in {days_left} d" in email.body
        for email in mail.outbox
    )


def _new_conditions(email) -> str:
    return email.body.split("\n\nEverything")[0]


def test_the_30_day_and_7_day_expiry_alerts_are_each_sent_once(settings, clock, organization):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    make_tenant_admin(organization)
    token, _ = issue_token(organization, actor=None, expires_days=40)
    for _ in range(13):  # a run every 3 days until the day before expiry
        clock.shift(timedelta(days=3))
        azure_calls(organization, token)
        run()

    expiry_mails = [
        email
        for email in mail.outbox
        if f"- The provisioning token {token.display_prefix}" in _new_conditions(email)
    ]
    assert len(expiry_mails) == 2


def test_no_expiry_alert_is_sent_for_a_token_already_replaced(settings, clock, organization):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    make_tenant_admin(organization)
    old, _ = issue_token(organization, actor=None, expires_days=40)
    clock.shift(timedelta(days=5))
    new, _ = issue_token(organization, actor=None, expires_days=365)
    clock.shift(timedelta(days=6))  # the old token has 29 days left, the new one 359
    azure_calls(organization, new)

    run()

    assert not AlertState.objects.filter(condition__startswith=f"token:{old.display_prefix}")
    assert not any(old.display_prefix in email.body for email in mail.outbox)


def test_health_turning_critical_is_emailed(alerting, organization):
    azure_calls(organization, alerting)
    revoke_tokens(organization, actor=None)

    run()

    [email] = mail.outbox
    assert "Health is critical: No active provisioning token" in email.body


def test_alerts_of_one_organization_never_go_to_another_organizations_admins(
    alerting, organization, other_organization, clock
):
    make_tenant_admin(other_organization, username="lake.admin")
    other_token, _ = issue_token(other_organization, actor=None)
    azure_calls(other_organization, other_token)
    azure_calls(organization, alerting, at=START - timedelta(hours=5))

    run()

    [email] = mail.outbox
    assert organization.name in email.subject
    assert "lake.admin@clinic.example" not in email.to


def test_an_organization_with_provisioning_off_gets_no_alert(settings, clock):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    off = factories.make_organization(
        name="Closed Clinic", slug="closed", provisioning_enabled=False
    )
    make_tenant_admin(off, username="closed.admin")

    assert alerts.send_alerts() == 0
