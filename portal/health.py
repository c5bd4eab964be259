"""Provisioning health of an organization, held against Azure AD's quarantine rules.

Azure (``docs/azure-scim-client.md`` §3.8) starts evaluating a job at 5,000 failures and
quarantines it when more than 40 % of its provisioning events fail or there are more than
40,000 failures; 60,000 failures quarantine it regardless. Credentials that keep failing
quarantine it whatever the counts. We warn well before: at ``HEALTH_WARN_FAILURE_PERCENT`` or
``HEALTH_WARN_FAILURES``, and whenever the last Test Connection-shaped request failed or a
token is about to expire (``TOKEN_EXPIRY_WARN_DAYS`` / ``TOKEN_EXPIRY_CRITICAL_DAYS``).

Counts come from the ``SyncCycle`` counters of the last ``HEALTH_WINDOW_HOURS``, never from a
scan of the events.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Sum
from django.utils import timezone

from organizations.models import Organization
from scim.calls import Operation

from . import services
from .models import SyncCycle, SyncEvent

QUARANTINE_EVALUATION_FAILURES = 5_000
QUARANTINE_FAILURE_RATE = 0.40
QUARANTINE_FAILURES = 40_000
QUARANTINE_ABSOLUTE_FAILURES = 60_000

OK = "ok"
WARNING = "warning"
CRITICAL = "critical"
_RANK = {OK: 0, WARNING: 1, CRITICAL: 2}


@dataclass
class Health:
    """An organization's health: an overall level and the findings that explain it."""

    events: int = 0
    failures: int = 0
    # Refused authentications at the tenant URL: shown beside the verdict, never part of it,
    # since anyone who knows the URL can make them.
    failed_authentications: int = 0
    last_test_connection: SyncEvent | None = None
    findings: list[tuple[str, str]] = field(default_factory=list)

    @property
    def failure_rate(self) -> float:
        return self.failures / self.events if self.events else 0.0

    @property
    def failure_percent(self) -> str:
        return f"{self.failure_rate * 100:.1f} %"

    @property
    def failed_authentication_note(self) -> str:
        """The refused authentications in words, or ``""`` when there were none."""
        count = self.failed_authentications
        if not count:
            return ""
        requests = "request" if count == 1 else "requests"
        return (
            f"{count:,} {requests} with an invalid token in the last "
            f"{settings.HEALTH_WINDOW_HOURS} h — if Azure's Test Connection fails, check the token"
        )

    @property
    def level(self) -> str:
        return max((level for level, _ in self.findings), key=_RANK.__getitem__, default=OK)

    def add(self, level: str, message: str) -> None:
        self.findings.append((level, message))


def quarantine_risk(failures: int, events: int) -> str:
    """``critical`` where Azure would quarantine now, ``warning`` well before, else ``ok``."""
    rate = failures / events if events else 0.0
    if failures > QUARANTINE_ABSOLUTE_FAILURES or (
        failures >= QUARANTINE_EVALUATION_FAILURES
        and (rate > QUARANTINE_FAILURE_RATE or failures > QUARANTINE_FAILURES)
    ):
        return CRITICAL
    warn_rate = settings.HEALTH_WARN_FAILURE_PERCENT / 100
    if failures >= settings.HEALTH_WARN_FAILURES or (
        events >= settings.HEALTH_MIN_EVENTS and rate >= warn_rate
    ):
        return WARNING
    return OK


def organization_health(organization: Organization, now: datetime | None = None) -> Health:
    """Failure rate, last Test Connection and token expiry of ``organization``."""
    now = now or timezone.now()
    since = now - timedelta(hours=settings.HEALTH_WINDOW_HOURS)
    totals = SyncCycle.objects.filter(
        organization=organization, last_event_at__gte=since
    ).aggregate(events=Sum("events"), failures=Sum("failures"))
    health = Health(
        events=totals["events"] or 0, failures=totals["failures"] or 0,
        failed_authentications=services.failed_authentications(
            organization, hours=settings.HEALTH_WINDOW_HOURS, now=now),
    )
    risk = quarantine_risk(health.failures, health.events)
    window = f"the last {settings.HEALTH_WINDOW_HOURS} hours"
    if risk == CRITICAL:
        health.add(CRITICAL, (
            f"{health.failures:,} of {health.events:,} requests failed in {window} "
            f"({health.failure_percent}): Azure AD quarantines a job past 40 % failing or "
            "40,000 failures. Fix the failures listed below."
        ))
    elif risk == WARNING:
        health.add(WARNING, (
            f"{health.failures:,} of {health.events:,} requests failed in {window} "
            f"({health.failure_percent}). Azure AD quarantines a job past 40 % failing; fix "
            "the failures before it gets there."
        ))
    health.last_test_connection = (
        SyncEvent.objects.filter(organization=organization, operation=Operation.TEST_CONNECTION)
        .order_by("-created_at", "-id").first()
    )
    if health.last_test_connection is not None and not health.last_test_connection.succeeded:
        health.add(CRITICAL, (
            f"The last Test Connection failed with HTTP "
            f"{health.last_test_connection.status_code}."
        ))

    _token_findings(organization, health, now)
    if not organization.provisioning_enabled:
        health.add(WARNING, "Provisioning is switched off for this organization.")
    return health


def _token_findings(organization: Organization, health: Health, now: datetime) -> None:
    active = list(organization.tokens.active(now).order_by("expires_at"))
    if not active:
        health.add(CRITICAL, "No active provisioning token: Azure AD cannot connect.")
        return
    # The token that lasts longest is the one Azure can keep using after a rotation.
    expiries = [token.expires_at for token in active]
    if None in expiries:
        return
    latest = max(expiries)
    days = (latest - now).days
    if latest - now <= timedelta(days=settings.TOKEN_EXPIRY_CRITICAL_DAYS):
        health.add(CRITICAL, (
            f"The provisioning token expires in {days} day{'s' if days != 1 else ''}: ask "
            "Kno2 for a new one now, or Azure AD quarantines the job when it expires."
        ))
    elif latest - now <= timedelta(days=settings.TOKEN_EXPIRY_WARN_DAYS):
        health.add(WARNING, (
            f"The provisioning token expires in {days} days: ask Kno2 for a new one and paste "
            "it into Azure AD before then."
        ))
