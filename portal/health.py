"""Provisioning health of an organization, held against Azure AD's quarantine rules.

The thresholds are the same for every identity provider; only an Entra organization's findings
speak of Azure's quarantine, and each kind's findings name its own console (``_Voice``).

Azure (``docs/azure-scim-client.md`` §3.8) starts evaluating a job at 5,000 failures and
quarantines it when more than 40 % of its provisioning events fail or there are more than
40,000 failures; 60,000 failures quarantine it regardless. Credentials that keep failing
quarantine it whatever the counts. We warn well before: at ``HEALTH_WARN_FAILURE_PERCENT`` or
``HEALTH_WARN_FAILURES``, and whenever the last Test Connection-shaped request failed or a
token is about to expire (``TOKEN_EXPIRY_WARN_DAYS`` / ``TOKEN_EXPIRY_CRITICAL_DAYS``).

Counts come from the ``SyncCycle`` counters of the last ``HEALTH_WINDOW_HOURS``, never from a
scan of the events, and the facts of any number of organizations are read in five queries
(``organizations_health``), so the admin can list every organization at risk. Failed
authentications are counted apart and never judged (``services.count_failed_authentication``);
the credential Azure is using is
the one of its latest authenticated request, which is how a rotation Azure has not picked up is
caught; and silence (no request for ``HEALTH_SILENCE_MINUTES`` while provisioning is enabled)
is a warning, the usual sign of a stopped or quarantined job.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db.models import F, Max, OuterRef, Q, Subquery, Sum, Window
from django.db.models.functions import FirstValue, RowNumber
from django.utils import timezone

from core.credentials import ActiveCredential, active_credentials_by_organization
from organizations.identity import IdentityProviderKind
from organizations.models import Organization
from scim.calls import Operation

from . import humanize
from .models import FailedAuthenticationCount, SyncEvent

QUARANTINE_EVALUATION_FAILURES = 5_000
QUARANTINE_FAILURE_RATE = 0.40
QUARANTINE_FAILURES = 40_000
QUARANTINE_ABSOLUTE_FAILURES = 60_000

OK = "ok"
WARNING = "warning"
CRITICAL = "critical"
_RANK = {OK: 0, WARNING: 1, CRITICAL: 2}
# States rather than verdicts: an organization the client has never called has nothing to judge
# yet, and one whose provisioning Kno2 switched off is not failing. Neither alerts nor is at risk.
WAITING = "waiting"
OFF = "off"

# Refused creates read per health check (the latest first), and names shown in the finding.
REFUSED_READ = 500
REFUSED_NAMED = 5


@dataclass(frozen=True)
class CredentialStatus:
    """One active credential of an organization, as the health check sees it."""

    prefix: str
    label: str
    created_at: datetime | None
    expires_at: datetime | None
    replaced: bool
    in_use: bool

    def expires_in(self, now: datetime) -> timedelta | None:
        return self.expires_at - now if self.expires_at is not None else None


@dataclass(frozen=True)
class _Voice:
    """How health speaks of the organization's SCIM client: Azure's words only for Entra."""

    client: str
    paste_target: str
    test: str
    paste_into: str
    failing_rule: str
    before_rule: str
    silence_reason: str
    expiry_consequence: str
    first_request: str


_VOICES = {
    IdentityProviderKind.ENTRA: _Voice(
        client="Azure AD",
        paste_target="Azure AD",
        test="Azure's Test Connection",
        paste_into="into the enterprise app under Provisioning → Admin Credentials and click Test "
        "Connection",
        failing_rule="Azure AD quarantines a job past 40 % failing or 40,000 failures. ",
        before_rule=" Azure AD quarantines a job past 40 % failing; fix the failures before it "
        "gets there.",
        silence_reason=", though it runs a cycle about every 40 minutes. That usually means the "
        "provisioning job was stopped or is in quarantine: check the enterprise app's "
        "Provisioning page in Azure.",
        expiry_consequence="or Azure AD quarantines the job when it expires",
        first_request="Waiting for Azure's first request",
    ),
    IdentityProviderKind.OKTA: _Voice(
        client="Okta",
        paste_target="Okta",
        test="Okta's Test API Credentials",
        paste_into="in the Okta Admin Console under Applications → Kno2fy → Provisioning → "
        "Integration → Edit, and click Test API Credentials",
        failing_rule="",
        before_rule=" Fix the failures before they pile up.",
        silence_reason=". That usually means provisioning was paused or its credentials stopped "
        "working: check Applications → Kno2fy → Provisioning and Reports → System Log in the "
        "Okta Admin Console.",
        expiry_consequence="or provisioning stops when it expires",
        first_request="Waiting for Okta's first request",
    ),
    IdentityProviderKind.SAML: _Voice(
        client="Your SCIM client",
        paste_target="your SCIM client",
        test="the SCIM client's connection test",
        paste_into="into your SCIM client's connection settings and test the connection",
        failing_rule="",
        before_rule=" Fix the failures before they pile up.",
        silence_reason=". That usually means provisioning was paused or its credentials stopped "
        "working: check your SCIM client's provisioning log.",
        expiry_consequence="or provisioning stops when it expires",
        first_request="Waiting for your SCIM client's first request",
    ),
}


def _voice(kind: str) -> _Voice:
    return _VOICES.get(kind, _VOICES[IdentityProviderKind.SAML])


@dataclass
class Health:
    """An organization's health: an overall level and the findings that explain it.

    ``failures`` are Azure's own failures (requests that authenticated and were refused);
    ``failed_authentications`` (requests refused for their credentials) are counted apart and
    never judged, since anyone who knows the tenant URL can make them.
    """

    events: int = 0
    failures: int = 0
    # Refused authentications at the tenant URL: shown beside the verdict, never part of it,
    # since anyone who knows the URL can make them.
    failed_authentications: int = 0
    last_test_connection: SyncEvent | None = None
    last_request_at: datetime | None = None
    in_use: SyncEvent | None = None
    credentials: list[CredentialStatus] = field(default_factory=list)
    silent_for: timedelta | None = None
    findings: list[tuple[str, str]] = field(default_factory=list)
    idp_kind: str = IdentityProviderKind.ENTRA
    provisioning_enabled: bool = True
    # userNames whose latest create in the window was refused (the client retries them).
    refused_creates: list[str] = field(default_factory=list)

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
            f"{settings.HEALTH_WINDOW_HOURS} h — if {_voice(self.idp_kind).test} fails, check "
            "the token"
        )

    @property
    def level(self) -> str:
        """The worst finding; or ``off`` while provisioning is switched off, or ``waiting`` with
        nothing found for an organization the client has never called."""
        if not self.provisioning_enabled:
            return OFF
        worst = max((level for level, _ in self.findings), key=_RANK.__getitem__, default=OK)
        if worst == OK and self.last_request_at is None:
            return WAITING
        return worst

    @property
    def label(self) -> str:
        """The level in words, as the portal and the admin show it."""
        if self.level == WAITING:
            return _voice(self.idp_kind).first_request
        if self.level == OFF:
            return "Provisioning switched off"
        return self.level.capitalize()

    @property
    def state_notice(self) -> str:
        """What the waiting and switched-off states mean, for the page that shows no findings."""
        voice = _voice(self.idp_kind)
        if self.level == WAITING:
            return (
                f"{voice.first_request}: {voice.client} has not called this organization yet. "
                f"Paste the tenant URL and a secret token {voice.paste_into}."
            )
        if self.level == OFF:
            return (
                "Kno2 switched provisioning off for this organization: its requests are refused "
                "until it is switched on again. Nothing is failing."
            )
        return ""

    @property
    def at_risk(self) -> bool:
        return self.level in {WARNING, CRITICAL}

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


def _when(moment: datetime) -> str:
    return f"{timezone.localtime(moment, UTC):%Y-%m-%d %H:%M} UTC"


@dataclass
class _Facts:
    """What health is judged on, for one organization; fetched for many at once."""

    events: int = 0
    failures: int = 0
    failed_authentications: int = 0
    last_request_at: datetime | None = None
    last_test_connection: SyncEvent | None = None
    in_use: SyncEvent | None = None
    credentials: list[ActiveCredential] = field(default_factory=list)
    refused_creates: list[str] = field(default_factory=list)


def _latest_event_pk(**filters: object) -> Subquery:
    return Subquery(
        SyncEvent.objects.filter(organization=OuterRef("pk"), **filters)
        .order_by("-created_at", "-id")
        .values("pk")[:1]
    )


def _facts(organizations: Iterable[Organization], now: datetime) -> dict[int, _Facts]:
    """Health facts of ``organizations`` in five queries, however many there are."""
    pks = [organization.pk for organization in organizations]
    if not pks:
        return {}
    since = now - timedelta(hours=settings.HEALTH_WINDOW_HOURS)
    recent = Q(sync_cycles__last_event_at__gte=since)
    rows = (
        Organization.objects.filter(pk__in=pks)
        .annotate(
            window_events=Sum("sync_cycles__events", filter=recent),
            window_failures=Sum("sync_cycles__failures", filter=recent),
            last_request_at=Max("sync_cycles__last_event_at"),
        )
        .values("pk", "window_events", "window_failures", "last_request_at")
    )
    facts: dict[int, _Facts] = {
        row["pk"]: _Facts(
            events=row["window_events"] or 0,
            failures=row["window_failures"] or 0,
            last_request_at=row["last_request_at"],
        )
        for row in rows
    }
    # Counted by the hour (services.count_failed_authentication): the oldest hour counts whole.
    since_hour = since.replace(minute=0, second=0, microsecond=0)
    failed = Subquery(
        FailedAuthenticationCount.objects.filter(organization=OuterRef("pk"), hour__gte=since_hour)
        .values("organization")
        .annotate(total=Sum("count"))
        .values("total")
    )
    latest = (
        Organization.objects.filter(pk__in=pks)
        .annotate(
            test_connection=_latest_event_pk(operation=Operation.TEST_CONNECTION),
            # Every recorded call authenticated: the latest one names the credential in use.
            in_use=_latest_event_pk(),
            failed_authentications=failed,
        )
        .values_list("pk", "test_connection", "in_use", "failed_authentications")
    )
    wanted = {}
    for pk, test, used, failed_count in latest:
        wanted[pk] = (test, used)
        facts[pk].failed_authentications = failed_count or 0
    events = SyncEvent.objects.in_bulk(
        [event_pk for pair in wanted.values() for event_pk in pair if event_pk is not None]
    )
    for pk, (test, used) in wanted.items():
        facts[pk].last_test_connection = events.get(test)
        facts[pk].in_use = events.get(used)
    for pk, credentials in active_credentials_by_organization(pks, now).items():
        facts[pk].credentials = credentials
    failing = [pk for pk, fact in facts.items() if fact.failures]
    if failing:
        for pk, user_name in _refused_creates(failing, since):
            facts[pk].refused_creates.append(user_name)
    return facts


def _refused_creates(pks: list[int], since: datetime) -> list[tuple[int, str]]:
    """``(organization pk, userName)`` of each name whose latest create in the window was
    refused, newest first: a user the client keeps retrying and that is still not here.

    One query, only for organizations with failures: the creates of the names refused in the
    window (``syncevent_org_op`` and ``syncevent_org_subject_key``), the latest of each name.
    """
    creates = SyncEvent.objects.filter(
        organization__in=pks, operation=Operation.CREATE_USER, created_at__gte=since
    )
    refused_keys = creates.filter(succeeded=False).exclude(subject_key="").values("subject_key")
    name = {
        "partition_by": [F("organization_id"), F("subject_key")],
        "order_by": [F("created_at").desc(), F("id").desc()],
    }
    # Both conditions on windows, so both apply after the ranking (a plain ``succeeded`` filter
    # would drop the later successful create before it could outrank the refusal).
    latest = (
        creates.filter(subject_key__in=refused_keys)
        .annotate(
            newest=Window(RowNumber(), **name),
            newest_succeeded=Window(FirstValue("succeeded"), **name),
        )
        .filter(newest=1, newest_succeeded=False)
        .order_by("-created_at", "-id")
        .values_list("organization_id", "subject")
    )
    return list(latest[:REFUSED_READ])


def organizations_health(
    organizations: Iterable[Organization], now: datetime | None = None
) -> dict[int, Health]:
    """Health of each of ``organizations`` by primary key, in a fixed number of queries."""
    now = now or timezone.now()
    organizations = list(organizations)
    facts = _facts(organizations, now)
    return {
        organization.pk: _judge(organization, facts[organization.pk], now)
        for organization in organizations
    }


def organization_health(organization: Organization, now: datetime | None = None) -> Health:
    """Failure rate, failed authentications, silence, credentials and the last Test Connection
    of ``organization``."""
    return organizations_health([organization], now)[organization.pk]


def _judge(organization: Organization, facts: _Facts, now: datetime) -> Health:
    health = Health(
        events=facts.events,
        failures=facts.failures,
        failed_authentications=facts.failed_authentications,
        last_test_connection=facts.last_test_connection,
        last_request_at=facts.last_request_at,
        in_use=facts.in_use,
        idp_kind=organization.idp_kind,
        provisioning_enabled=organization.provisioning_enabled,
        refused_creates=facts.refused_creates,
    )
    voice = _voice(organization.idp_kind)
    risk = quarantine_risk(health.failures, health.events)
    window = f"the last {settings.HEALTH_WINDOW_HOURS} hours"
    if risk == CRITICAL:
        health.add(
            CRITICAL,
            (
                f"{health.failures:,} of {health.events:,} requests failed in {window} "
                f"({health.failure_percent}): {voice.failing_rule}Fix the failures listed below."
            ),
        )
    elif risk == WARNING:
        health.add(
            WARNING,
            (
                f"{health.failures:,} of {health.events:,} requests failed in {window} "
                f"({health.failure_percent}).{voice.before_rule}"
            ),
        )
    if health.last_test_connection is not None and not health.last_test_connection.succeeded:
        health.add(
            CRITICAL,
            (
                f"The last Test Connection failed with HTTP "
                f"{health.last_test_connection.status_code}."
            ),
        )
    if health.refused_creates:
        names = health.refused_creates
        shown = ", ".join(names[:REFUSED_NAMED])
        more = f" and {len(names) - REFUSED_NAMED:,} more" if len(names) > REFUSED_NAMED else ""
        users = "user is" if len(names) == 1 else "users are"
        health.add(
            WARNING,
            (
                f"{len(names):,} {users} refused and not in Kno2fy: {shown}{more}. "
                f"{voice.client} retries them every cycle; open each in Find a user to see why."
            ),
        )
    _silence_findings(organization, health, now)
    _credential_findings(facts.credentials, health, now, voice)
    return health


def _silence_findings(organization: Organization, health: Health, now: datetime) -> None:
    if health.last_request_at is None:
        return
    voice = _voice(organization.idp_kind)
    silence = now - health.last_request_at
    if organization.provisioning_enabled and silence > timedelta(
        minutes=settings.HEALTH_SILENCE_MINUTES
    ):
        health.silent_for = silence
        health.add(
            WARNING,
            (
                f"{voice.client} has sent nothing for {humanize.duration(silence)} (last request "
                f"{_when(health.last_request_at)}){voice.silence_reason}"
            ),
        )


def _credential_findings(
    active: list[ActiveCredential], health: Health, now: datetime, voice: _Voice
) -> None:
    # The credential Azure is actually using: the one its latest authenticated request used.
    in_use_id = health.in_use.credential_id if health.in_use is not None else None
    # A credential is replaced once a newer one of the same kind exists.
    newest = {credential.kind: credential for credential in active}
    health.credentials = [
        CredentialStatus(
            prefix=credential.public_id,
            label=credential.label,
            created_at=credential.created_at,
            expires_at=credential.expires_at,
            replaced=credential is not newest[credential.kind],
            in_use=credential.public_id == in_use_id,
        )
        for credential in active
    ]
    if not active:
        health.add(
            CRITICAL,
            f"No active provisioning token or OAuth client: {voice.client} cannot connect.",
        )
        return
    old = next(
        (
            (status, credential)
            for status, credential in zip(health.credentials, active, strict=True)
            if status.in_use and status.replaced
        ),
        None,
    )
    if old is not None:
        status, credential = old
        # Still inside its grace period (an active credential has not expired): a warning with
        # its end date, however close, since the new one is ready to paste.
        level = WARNING
        stops = (
            f"stops working on {_when(status.expires_at)}" if status.expires_at else "still works"
        )
        health.add(
            level,
            (
                f"{voice.client} still uses the old {credential.short_noun} {status.prefix}, "
                f"which was replaced by {newest[credential.kind].public_id} and {stops}. Paste "
                f"the new one {voice.paste_into} before then."
            ),
        )
        return
    # The credential that lasts longest is the one Azure can keep using after a rotation.
    if any(credential.expires_at is None for credential in active):
        return
    latest = max(active, key=lambda credential: credential.expires_at)
    left = latest.expires_at - now
    if left <= timedelta(days=settings.TOKEN_EXPIRY_CRITICAL_DAYS):
        health.add(
            CRITICAL,
            (
                f"The {latest.noun} expires in {humanize.duration(left)} "
                f"({_when(latest.expires_at)}): ask Kno2 for a new one now, "
                f"{voice.expiry_consequence}."
            ),
        )
    elif left <= timedelta(days=settings.TOKEN_EXPIRY_WARN_DAYS):
        health.add(
            WARNING,
            (
                f"The {latest.noun} expires in {humanize.plural(left.days, 'day')} "
                f"({_when(latest.expires_at)}): ask Kno2 for a new one and paste it into "
                f"{voice.paste_target} before then."
            ),
        )
