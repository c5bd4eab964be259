"""Email alerts: tell tenant admins and Kno2 staff before Azure AD quarantines a job.

``send_alerts`` (run by ``manage.py send_alerts`` from cron, every few minutes) judges every
organization with provisioning enabled and mails each condition once, when it appears:

* health turns to warning or to critical (``health:warning``, ``health:critical``);
* the token Azure should be using nears its expiry (``token:<key>:30``, ``token:<key>:7``,
  at ``TOKEN_EXPIRY_WARN_DAYS`` and ``TOKEN_EXPIRY_CRITICAL_DAYS``);
* Azure goes silent (``silence``: no request for ``HEALTH_SILENCE_MINUTES``).

An ``AlertState`` row remembers each condition that was sent; when the condition is gone the
row is deleted, so the same condition coming back is sent again. New conditions of one
organization go out in one email per run.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from organizations.models import Organization

from . import humanize
from .health import CRITICAL, WARNING, Health, organizations_health
from .models import AlertState, PortalMembership

logger = logging.getLogger(__name__)

BATCH = 200


@dataclass(frozen=True)
class Condition:
    key: str
    title: str
    message: str


def conditions(health: Health, now: datetime) -> list[Condition]:
    """The alertable conditions of one organization's health right now."""
    found = []
    if health.level in {WARNING, CRITICAL}:
        worst = [message for level, message in health.findings if level == health.level]
        found.append(
            Condition(
                f"health:{health.level}",
                f"health is {health.level}",
                f"Health is {health.level}: {worst[0]}",
            )
        )
    for credential in health.credentials:
        if credential.replaced or credential.expires_at is None:
            continue
        left = credential.expires_at - now
        for days in sorted({settings.TOKEN_EXPIRY_WARN_DAYS, settings.TOKEN_EXPIRY_CRITICAL_DAYS}):
            if left <= timedelta(days=days):
                found.append(
                    Condition(
                        f"token:{credential.prefix}:{days}",
                        f"the token expires in {humanize.plural(max(left.days, 0), 'day')}",
                        f"The provisioning token {credential.prefix} expires in "
                        f"{humanize.duration(left)} "
                        f"({credential.expires_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC). "
                        "Ask Kno2 for a new one and paste it into Azure AD before then.",
                    )
                )
                break
    if health.silent_for is not None:
        found.append(
            Condition(
                "silence",
                "Azure AD has gone silent",
                (
                    f"Azure AD has sent nothing for {humanize.duration(health.silent_for)}: the "
                    "provisioning job was probably stopped or is in quarantine."
                ),
            )
        )
    return found


def recipients(organization: Organization) -> list[str]:
    """The organization's tenant admins with an email address, and the staff address."""
    emails = sorted(
        {
            email
            for email in PortalMembership.objects.filter(
                organization=organization, user__is_active=True
            )
            .exclude(user__email="")
            .values_list("user__email", flat=True)
        }
    )
    if settings.ALERT_STAFF_EMAIL:
        emails.append(settings.ALERT_STAFF_EMAIL)
    return emails


def _email(organization: Organization, new: list[Condition], health: Health) -> int:
    to = recipients(organization)
    if not to:
        return 0
    dashboard = settings.PUBLIC_BASE_URL + reverse("portal:dashboard", args=[organization.slug])
    lines = [f"Kno2 provisioning for {organization.name} needs attention:", ""]
    lines += [f"- {condition.message}" for condition in new]
    if health.findings:
        lines += ["", "Everything the health check found:"]
        lines += [f"- {level}: {message}" for level, message in health.findings]
    lines += [
        "",
        f"Dashboard: {dashboard}",
        "",
        "You get this once per problem; it is sent again only if the problem clears "
        "and comes back.",
    ]
    titles = ", ".join(condition.title for condition in new)
    subject = f"[Kno2 provisioning] {organization.name}: {titles}"[:200]
    return send_mail(subject, "\n".join(lines), None, to)


def send_alerts(now: datetime | None = None) -> int:
    """Judge every organization, email new conditions, forget cleared ones; emails sent."""
    now = now or timezone.now()
    sent = 0
    AlertState.objects.filter(organization__provisioning_enabled=False).delete()
    organizations = Organization.objects.filter(provisioning_enabled=True).order_by("pk")
    last_pk = 0
    while batch := list(organizations.filter(pk__gt=last_pk)[:BATCH]):
        last_pk = batch[-1].pk
        results = organizations_health(batch, now)
        open_states: dict[int, set[str]] = {}
        for state in AlertState.objects.filter(organization__in=batch):
            open_states.setdefault(state.organization_id, set()).add(state.condition)
        for organization in batch:
            health = results[organization.pk]
            current = conditions(health, now)
            known = open_states.get(organization.pk, set())
            new = [condition for condition in current if condition.key not in known]
            cleared = known - {condition.key for condition in current}
            with transaction.atomic():
                if cleared:
                    AlertState.objects.filter(
                        organization=organization, condition__in=cleared
                    ).delete()
                    logger.info(
                        "alerts cleared org=%s conditions=%s",
                        organization.pk,
                        ",".join(sorted(cleared)),
                    )
                if new:
                    AlertState.objects.bulk_create(
                        [
                            AlertState(
                                organization=organization,
                                condition=c.key,
                                message=c.message[:1000],
                                opened_at=now,
                            )
                            for c in new
                        ]
                    )
            if new:
                sent += _email(organization, new, health)
                logger.info(
                    "alert sent org=%s conditions=%s",
                    organization.pk,
                    ",".join(condition.key for condition in new),
                )
    return sent
