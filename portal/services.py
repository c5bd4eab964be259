"""Every operation of the portal app that writes: sync history, API keys, tenant admins, pruning.

Views, the admin, management commands and the history's receiver (``portal.recording``)
call these.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import F, Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.module_loading import import_string
from django.views.decorators.debug import sensitive_variables

from core import tokens
from core.db import multi_statement_cursor
from organizations import services as organization_services
from organizations.models import Organization
from scim.calls import Operation, ScimCall
from scim.identity import identity_key

from . import apikeys, audit
from .cycles import append_to_current_cycle, assign_cycle, counter_increments, idle_gap
from .explanations import is_test_connection, summarize
from .models import (
    SSO_USERNAME_PREFIX,
    FailedAuthenticationCount,
    HistoryApiKey,
    Invitation,
    MemberChange,
    PortalMembership,
    PortalRole,
    SetPasswordLink,
    SyncCycle,
    SyncEvent,
    SyncEventMember,
)

logger = logging.getLogger(__name__)

Actor = AbstractBaseUser | None
_REDACTED = "[redacted]"
_MAX_VALUE = 200
MEMBER_IDS_RECORDED = 1000


def _clip(value: object, limit: int) -> str:
    """``value`` as storable text: at most ``limit`` characters, and no NUL, which PostgreSQL
    text and JSON refuse (a request path or filter may carry ``%00``)."""
    text = "" if value is None else str(value)
    return text[:limit].replace("\x00", "\ufffd")


def _clean_changes(changes: Sequence[Any]) -> list[dict[str, Any]]:
    """Changed attributes with old and new values, secrets blanked and long values clipped.

    SCIM lets a client set ``password``; its value never reaches the history.
    """
    cleaned = []
    for change in changes[:50]:
        if not isinstance(change, Mapping):
            continue
        attribute = _clip(change.get("attribute"), 100)
        secret = "password" in attribute.lower() or "secret" in attribute.lower()
        item = {"attribute": attribute}
        for side in ("old", "new"):
            value = change.get(side)
            if secret and value not in (None, ""):
                item[side] = _REDACTED
            elif value is None or isinstance(value, bool | int | float):
                item[side] = value
            else:
                item[side] = _clip(value, _MAX_VALUE)
        cleaned.append(item)
    return cleaned


@dataclass
class PendingSyncEvent:
    """One authenticated SCIM call as its history will store it: its organization, the event's
    fields by attribute name (``organization_id`` and ``token_id`` included; no pk, no cycle
    until written), how it moves its cycle's counters, and the members it names as
    ``(member id, change)`` pairs, already clipped and bounded. ``written`` once the event's
    row is committed, with its ``pk`` and ``cycle_id``; ``members`` is emptied once their rows
    are.

    Plain values, not a ``SyncEvent``: every SCIM call builds one in its request, where
    Django's model constructor was two thirds of the building, and the writer only read the
    fields back out to send them as JSON (README, "Issue 21, sixteenth round"). ``event()``
    makes the model where one is needed."""

    organization: Organization
    values: dict[str, Any]
    increments: dict[str, int]
    members: list[tuple[str, str]]
    written: bool = False
    pk: int | None = None
    cycle_id: int | None = None

    @property
    def organization_id(self) -> int:
        return self.values["organization_id"]

    @property
    def created_at(self) -> datetime:
        return self.values["created_at"]

    def event(self) -> SyncEvent:
        """The event as a model instance: saved (its ``pk`` and cycle) once ``written``."""
        event = SyncEvent(**self.values, pk=self.pk, cycle_id=self.cycle_id)
        event.organization = self.organization
        event._state.adding = self.pk is None
        return event


def build_sync_event(call: ScimCall) -> PendingSyncEvent:
    """Everything ``call`` will store in its organization's history, read from the call record
    the SCIM layer completed; writes nothing (``record_sync_event`` and
    ``write_sync_events`` do). The values are those the model's fields store: text clipped to
    its column, counts not negative."""
    credential = call.credential
    if credential is None:
        raise ValueError("only authenticated SCIM calls belong to an organization's history")
    organization = credential.organization
    operation = call.operation
    if is_test_connection(operation, call.filter, call.results, call.status_code):
        operation = Operation.TEST_CONNECTION
    succeeded = call.succeeded
    changes = _clean_changes(call.changes)
    summary = summarize(
        operation,
        subject=call.display_name,
        changes=changes,
        members_added=call.members_added,
        members_removed=call.members_removed,
        filter_text=call.filter,
        results=call.results,
        method=call.method,
        path=call.path,
    )
    token = credential.token
    members_added, members_removed = max(call.members_added, 0), max(call.members_removed, 0)
    values = {
        "organization_id": organization.pk,
        "created_at": call.started_at,
        "request_id": _clip(call.request_id, 64),
        "token_id": token.pk if token is not None else None,
        "token_label": _clip(credential.label, 100),
        "token_prefix": _clip(credential.public_id, 32) if token is not None else "",
        "credential_kind": str(credential.kind),
        "credential_id": _clip(credential.public_id, 100),
        "method": _clip(call.method, 10),
        "path": _clip(call.path, 300),
        "operation": str(operation),
        "summary": _clip(summary, 500),
        "resource_type": _clip(call.resource_type, 10),
        "resource_id": _clip(call.resource_id, 100),
        "external_id": _clip(call.external_id, 200),
        "subject": _clip(call.display_name, 300),
        "subject_key": _clip(identity_key(call.display_name or ""), 300),
        "changes": changes,
        "members_added": members_added,
        "members_removed": members_removed,
        "filter": _clip(call.filter, 500),
        "results": call.results,
        "status_code": call.status_code,
        "succeeded": succeeded,
        "error_type": _clip(call.scim_type, 40),
        "error_detail": _clip(call.error_detail, 1000),
        "duration_ms": round(call.duration_ms, 3),
    }
    increments = counter_increments(
        operation,
        succeeded=succeeded,
        members_added=members_added,
        members_removed=members_removed,
    )
    return PendingSyncEvent(organization, values, increments, _named_members(call.member_ids))


def record_sync_event(call: ScimCall) -> SyncEvent:
    """Store one authenticated SCIM call in its organization's history and count it in its
    sync cycle, now.

    Runs after the SCIM view's transaction has committed or rolled back, in its own. On
    PostgreSQL the commit is asynchronous (``synchronous_commit off`` for this transaction
    only): history may lose its last few milliseconds in a server crash, SCIM data never.
    The call's ``member_ids`` (``added``/``removed``/``refused`` lists of SCIM ids, already
    bounded by the SCIM layer) become ``SyncEventMember`` rows in one more statement.
    Servers that write history behind their responses (``portal.writebehind``) hand the
    calls to ``write_sync_events`` in batches instead.
    """
    pending = build_sync_event(call)
    write_sync_events([pending])
    return pending.event()


def write_sync_events(batch: Sequence[PendingSyncEvent]) -> None:
    """Store ``batch``: per organization and burst, one round trip that extends its open cycle
    once for all its events and inserts them (``append_to_current_cycle``; the general path,
    ``assign_cycle``, when no cycle is open), then one INSERT per event that names members.
    What a server that writes history behind its responses (``portal.writebehind``) flushes
    every ``SYNC_HISTORY_FLUSH_MS``: the statements and commit of ``record_sync_event`` are
    paid once per burst instead of once per call.

    Events of one organization are grouped into bursts with no silence longer than a cycle's
    idle gap between them, so a batch spanning the end of a cycle opens the next one exactly as
    the calls one at a time would. Each burst commits on its own and marks its events
    ``written``, then each event's members commit and empty its ``members``; if one fails, what
    was committed before it stays written, and passing the same events again writes only what
    is left (an event already written is not inserted twice, and its members are).
    """
    for run in _bursts([pending for pending in batch if not pending.written]):
        totals: dict[str, int] = {}
        for pending in run:
            for name, amount in pending.increments.items():
                totals[name] = totals.get(name, 0) + amount
        keys = append_to_current_cycle([pending.values for pending in run], totals)
        if keys is None:
            with transaction.atomic():
                _commit_asynchronously()
                first, last = run[0], run[-1]
                cycle = assign_cycle(
                    first.organization, first.created_at, totals, until=last.created_at
                )
                events = SyncEvent.objects.bulk_create(
                    [SyncEvent(**pending.values, cycle=cycle) for pending in run]
                )
            keys = [(event.pk, cycle.pk) for event in events]
        for pending, (pk, cycle_id) in zip(run, keys, strict=True):
            pending.pk, pending.cycle_id, pending.written = pk, cycle_id, True
    for pending in batch:
        if pending.written and pending.members:
            _record_members(pending)
            pending.members = []


def _bursts(batch: Sequence[PendingSyncEvent]) -> list[list[PendingSyncEvent]]:
    """``batch`` by organization (primary key order), then by time, cut wherever one event
    follows the previous one by more than a cycle's idle gap."""
    ordered = sorted(batch, key=lambda p: (p.organization_id, p.created_at))
    gap = idle_gap()
    runs: list[list[PendingSyncEvent]] = []
    for pending in ordered:
        previous = runs[-1][-1] if runs else None
        if (
            previous is not None
            and previous.organization_id == pending.organization_id
            and pending.created_at - previous.created_at <= gap
        ):
            runs[-1].append(pending)
        else:
            runs.append([pending])
    return runs


def _commit_asynchronously() -> None:
    """On PostgreSQL, inside a transaction: let it commit without waiting for the WAL flush."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


# ``MemberChange.values`` builds its list anew on every read.
_MEMBER_CHANGES = tuple(MemberChange.values)


def _named_members(member_ids: Mapping[str, Sequence[str]]) -> list[tuple[str, str]]:
    if not member_ids:
        return []
    return [
        (_clip(member_id, 100), change)
        for change in _MEMBER_CHANGES
        for member_id in (member_ids.get(change) or [])[:MEMBER_IDS_RECORDED]
        if isinstance(member_id, str)
    ]


def _record_members(pending: PendingSyncEvent) -> None:
    """``pending.members`` as the members of its event, which is written."""
    if not pending.members:
        return
    if connection.vendor == "postgresql":
        _insert_members_postgresql(pending)
        return
    SyncEventMember.objects.bulk_create(
        SyncEventMember(
            organization_id=pending.organization_id,
            event_id=pending.pk,
            created_at=pending.created_at,
            group_id=pending.values["resource_id"],
            member_id=member_id,
            change=change,
        )
        for member_id, change in pending.members
    )


def _insert_members_postgresql(pending: PendingSyncEvent) -> None:
    """The rows of ``_record_members`` in one ``INSERT … SELECT`` from one JSON array: a
    1,000-member PATCH builds no model instance per member and binds five values, not 6,000.

    Outside a transaction (as recording runs) it commits asynchronously, like the event itself
    (``append_to_current_cycle``), in the same single round trip.
    """
    table = connection.ops.quote_name(SyncEventMember._meta.db_table)
    insert = (
        f"INSERT INTO {table} "  # noqa: S608 - a quoted table name
        "(organization_id, event_id, created_at, group_id, member_id, change) "
        "SELECT %s, %s, %s, %s, m.member_id, m.change "
        "FROM ROWS FROM (jsonb_to_recordset(%s::jsonb) AS (member_id varchar, "
        "change varchar)) WITH ORDINALITY AS m(member_id, change, n) ORDER BY m.n"
    )
    params = [
        pending.organization_id,
        pending.pk,
        pending.created_at,
        pending.values["resource_id"],
        json.dumps([{"member_id": m, "change": c} for m, c in pending.members]),
    ]
    if connection.in_atomic_block:
        with connection.cursor() as cursor:
            cursor.execute(insert, params)
        return
    with multi_statement_cursor() as cursor:
        try:
            cursor.execute(f"BEGIN; SET LOCAL synchronous_commit TO OFF; {insert}; COMMIT;", params)
        except DatabaseError:
            cursor.execute("ROLLBACK")
            raise


def count_failed_authentication(tenant: uuid.UUID, *, at: datetime) -> None:
    """Count one refused authentication at ``tenant``'s exact tenant URL, in its hour's row.

    At most one row per organization and hour: an UPDATE of the hour's counter, and on the
    hour's first failure an INSERT (a concurrent first failure retries the UPDATE). A tenant id
    that names no organization counts nowhere.
    """
    hour = at.replace(minute=0, second=0, microsecond=0)
    bump = FailedAuthenticationCount.objects.filter(organization__public_id=tenant, hour=hour)
    if bump.update(count=F("count") + 1):
        return
    organization = Organization.objects.filter(public_id=tenant).only("pk").first()
    if organization is None:
        return
    try:
        with transaction.atomic():
            FailedAuthenticationCount.objects.create(organization=organization, hour=hour, count=1)
    except IntegrityError:
        bump.update(count=F("count") + 1)


def failed_authentications(
    organization: Organization, *, hours: int, now: datetime | None = None
) -> int:
    """Refused authentications at ``organization``'s tenant URL in the last ``hours`` hours
    (counted by the hour, so the oldest hour counts whole)."""
    since = (now or timezone.now()) - timedelta(hours=hours)
    since = since.replace(minute=0, second=0, microsecond=0)
    total = FailedAuthenticationCount.objects.filter(
        organization=organization, hour__gte=since
    ).aggregate(total=Sum("count"))["total"]
    return total or 0


def prune_sync_history(
    *,
    older_than_days: int | None = None,
    batch_size: int = 10_000,
    now: datetime | None = None,
) -> tuple[int, int]:
    """Delete events and cycles older than the retention period, in small batches.

    Each batch is its own short transaction, so pruning millions of rows never holds long
    locks or one giant transaction. Returns ``(events_deleted, cycles_deleted)``.
    """
    days = settings.SYNC_HISTORY_RETENTION_DAYS if older_than_days is None else older_than_days
    cutoff = (now or timezone.now()) - timedelta(days=days)
    events_deleted = 0
    while True:
        batch = list(
            SyncEvent.objects.filter(created_at__lt=cutoff)
            .order_by("created_at")
            .values_list("pk", flat=True)[:batch_size]
        )
        if not batch:
            break
        deleted, _ = SyncEvent.objects.filter(pk__in=batch).delete()
        events_deleted += deleted
    cycles_deleted, _ = SyncCycle.objects.filter(last_event_at__lt=cutoff).delete()
    logger.info(
        "sync history pruned events=%s cycles=%s cutoff=%s",
        events_deleted,
        cycles_deleted,
        cutoff.isoformat(),
    )
    return events_deleted, cycles_deleted


@transaction.atomic
def issue_history_api_key(
    organization: Organization, *, actor: Actor, label: str = ""
) -> tuple[HistoryApiKey, str]:
    """Issue an API key for ``organization``'s SIEM; returns the row and its plaintext, once."""
    key = tokens.generate_key()
    plaintext = apikeys.build_key(key)
    api_key = HistoryApiKey.objects.create(
        organization=organization,
        key=key,
        digest=apikeys.hash_key(plaintext),
        label=label,
        created_by=actor if actor is not None and actor.pk else None,
    )
    organization_services.record_audit(
        organization,
        audit.HISTORY_API_KEY_ISSUED,
        actor=actor,
        key=api_key.display_prefix,
        label=label,
    )
    logger.info("history api key issued org=%s key=%s", organization.pk, key)
    return api_key, plaintext


@transaction.atomic
def revoke_history_api_key(api_key: HistoryApiKey, *, actor: Actor) -> HistoryApiKey:
    """Revoke ``api_key`` at once; revoking twice changes nothing."""
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
        organization_services.record_audit(
            api_key.organization,
            audit.HISTORY_API_KEY_REVOKED,
            actor=actor,
            key=api_key.display_prefix,
        )
        logger.info(
            "history api key revoked org=%s key=%s by=%s",
            api_key.organization_id,
            api_key.key,
            actor.pk if actor is not None else None,
        )
    return api_key


SET_PASSWORD_PREFIX = SetPasswordLink.secret_prefix


@transaction.atomic
def create_tenant_admin(
    *,
    username: str,
    email: str,
    organizations: Iterable[Organization],
    actor: Actor,
    first_name: str = "",
    last_name: str = "",
    is_active: bool = True,
) -> AbstractBaseUser:
    """Create a tenant admin with no usable password, linked to ``organizations``.

    They set their first password through a link staff create with
    ``create_set_password_link``.
    """
    user = get_user_model().objects.create_user(
        username=username,
        email=email,
        first_name=first_name,
        last_name=last_name,
        is_active=is_active,
        is_staff=False,
    )
    set_memberships(user, organizations, actor=actor)
    return user


@transaction.atomic
def set_memberships(
    user: AbstractBaseUser,
    organizations: Iterable[Organization],
    *,
    actor: Actor,
    roles: Mapping[int, str] | None = None,
) -> None:
    """Link ``user`` to exactly ``organizations``, with the role ``roles`` names for an
    organization's pk (a new membership without one is a viewer; an existing one keeps its
    role)."""
    roles = roles or {}
    wanted = {organization.pk for organization in organizations}
    PortalMembership.objects.filter(user=user).exclude(organization_id__in=wanted).delete()
    existing = {
        membership.organization_id: membership
        for membership in PortalMembership.objects.filter(user=user)
    }
    for pk, membership in existing.items():
        if pk in roles and membership.role != roles[pk]:
            membership.role = roles[pk]
            membership.save(update_fields=["role"])
    PortalMembership.objects.bulk_create(
        [
            PortalMembership(
                user=user,
                organization_id=pk,
                role=roles.get(pk, PortalRole.VIEWER),
                created_by=actor if actor is not None and actor.pk else None,
            )
            for pk in wanted - set(existing)
        ]
    )


class SetPasswordLinkRefused(Exception):
    """A set-password link cannot be created for this account (it has a password)."""


@transaction.atomic
def create_set_password_link(
    user: AbstractBaseUser, *, actor: Actor
) -> tuple[SetPasswordLink, str]:
    """A new one-time link for ``user`` to set their first password, and its URL, shown once.

    Only for an account without a usable password; any earlier unused link stops working. The
    creation is audited for each of the user's organizations. Only a keyed hash of the link is
    stored.
    """
    if user.get_username().startswith(SSO_USERNAME_PREFIX):
        raise SetPasswordLinkRefused(
            f"{user.get_username()} signs in through the organization's identity provider only."
        )
    if user.has_usable_password():
        raise SetPasswordLinkRefused(
            f"{user.get_username()} already has a password; they can change it when signed in."
        )
    now = timezone.now()
    SetPasswordLink.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=now)
    key = tokens.generate_key()
    plaintext = tokens.build_token(key, SET_PASSWORD_PREFIX)
    link = SetPasswordLink.objects.create(
        user=user,
        key=key,
        digest=tokens.hash_token(plaintext, settings.TOKEN_PEPPER),
        created_by=actor if actor is not None and actor.pk else None,
        expires_at=now + timedelta(hours=settings.PORTAL_SET_PASSWORD_LINK_HOURS),
    )
    organizations = [
        m.organization
        for m in PortalMembership.objects.filter(user=user).select_related("organization")
    ]
    for organization in organizations or [None]:
        organization_services.record_audit(
            organization,
            audit.SET_PASSWORD_LINK_CREATED,
            actor=actor,
            tenant_admin=user.get_username(),
            expires_at=link.expires_at.isoformat(),
        )
    logger.info("set-password link created user=%s key=%s", user.pk, key)
    path = reverse("portal:set_password", kwargs={"token": plaintext})
    return link, f"{settings.PUBLIC_BASE_URL}{path}"


def usable_set_password_link(presented: str) -> SetPasswordLink | None:
    """The usable link ``presented`` is (unused, unexpired, account without a password)."""
    candidates = SetPasswordLink.objects.usable().select_related("user")
    return SetPasswordLink.verify(candidates, presented, prefix=SET_PASSWORD_PREFIX)


@transaction.atomic
def set_first_password(link_id: int, password: str) -> AbstractBaseUser | None:
    """Set the password of the link's account and use the link up, or ``None`` when the link
    is no longer usable. The link row is locked, so two submissions cannot both succeed."""
    link = SetPasswordLink.objects.usable().select_for_update().filter(pk=link_id).first()
    if link is None:
        return None
    user = link.user
    user.set_password(password)
    user.save(update_fields=["password"])
    link.revoked_at = timezone.now()
    link.save(update_fields=["revoked_at"])
    logger.info("first password set user=%s key=%s", user.pk, link.key)
    return user


# -- Invitations ------------------------------------------------------------------------------

INVITATION_PREFIX = Invitation.secret_prefix


class InvitationRefused(Exception):
    """An invitation cannot be sent (bad role or e-mail address); the message says why."""


def _invitation_url(plaintext: str) -> str:
    return f"{settings.PUBLIC_BASE_URL}{reverse('portal:invitation', kwargs={'token': plaintext})}"


@sensitive_variables("plaintext")
@transaction.atomic
def invite(
    organization: Organization,
    *,
    email: str,
    role: str,
    actor: organization_services.Actor,
    send: bool = True,
) -> tuple[Invitation, str]:
    """Invite ``email`` to ``organization``'s portal with ``role``; returns the row and the
    link (shown or printed once, never stored). The link is e-mailed unless ``send`` is off.

    Audited with whoever invited, for staff's checklist and the customer's record.
    """
    if role not in PortalRole.values:
        raise InvitationRefused(f"The role must be one of {', '.join(PortalRole.values)}.")
    email = get_user_model().objects.normalize_email(email.strip())
    try:
        validate_email(email)
    except ValidationError as error:
        raise InvitationRefused(f"{email!r} is not an e-mail address.") from error
    now = timezone.now()
    key = tokens.generate_key()
    plaintext = tokens.build_token(key, INVITATION_PREFIX)
    invitation = Invitation.objects.create(
        organization=organization,
        email=email,
        role=role,
        key=key,
        digest=tokens.hash_token(plaintext, settings.TOKEN_PEPPER),
        created_by=actor if isinstance(actor, AbstractBaseUser) and actor.pk else None,
        expires_at=now + timedelta(hours=settings.PORTAL_INVITATION_HOURS),
    )
    organization_services.record_audit(
        organization,
        audit.INVITATION_SENT,
        actor=actor,
        email=email,
        role=role,
        invitation=invitation.display_prefix,
        expires_at=invitation.expires_at.isoformat(),
    )
    url = _invitation_url(plaintext)
    if send:
        # Sent after the commit, so a rolled-back invitation never reaches anyone's inbox.
        transaction.on_commit(lambda: _send_invitation(invitation, url))
    logger.info("portal invitation sent org=%s key=%s role=%s", organization.pk, key, role)
    return invitation, url


@sensitive_variables("url")
def _send_invitation(invitation: Invitation, url: str) -> None:
    expires = invitation.expires_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    send_mail(
        subject=f"Your invitation to {invitation.organization.name}'s Kno2 provisioning portal",
        message=(
            f"You are invited to {invitation.organization.name}'s Kno2 provisioning portal as "
            f"{invitation.get_role_display().split(':')[0].lower()}.\n\n"
            f"Open this link to accept (it works once, until {expires}):\n{url}\n"
        ),
        from_email=None,
        recipient_list=[invitation.email],
    )


def usable_invitation(presented: str) -> Invitation | None:
    """The usable invitation ``presented`` is (not accepted, withdrawn or expired)."""
    candidates = Invitation.objects.usable().select_related("organization")
    return Invitation.verify(candidates, presented, prefix=INVITATION_PREFIX)


def _grant(user: AbstractBaseUser, invitation: Invitation, actor: AbstractBaseUser | None) -> None:
    """Make ``user`` a member with the invitation's role; an invitation never lowers a role."""
    membership, created = PortalMembership.objects.get_or_create(
        user=user,
        organization=invitation.organization,
        defaults={"role": invitation.role, "created_by": invitation.created_by},
    )
    if not created and invitation.role == PortalRole.ADMIN and membership.role != PortalRole.ADMIN:
        membership.role = PortalRole.ADMIN
        membership.save(update_fields=["role"])


def _use_up(invitation_id: int) -> Invitation | None:
    invitation = (
        Invitation.objects.usable()
        .select_for_update()
        .select_related("organization")
        .filter(pk=invitation_id)
        .first()
    )
    if invitation is None:
        return None
    invitation.revoked_at = invitation.accepted_at = timezone.now()
    return invitation


def _accepted(invitation: Invitation, user: AbstractBaseUser | None, how: str) -> None:
    invitation.accepted_by = user
    invitation.save(update_fields=["revoked_at", "accepted_at", "accepted_by"])
    organization_services.record_audit(
        invitation.organization,
        audit.INVITATION_ACCEPTED,
        actor=user if user is not None else invitation.email,
        email=invitation.email,
        role=invitation.role,
        invitation=invitation.display_prefix,
        signed_in_with=how,
    )
    logger.info(
        "portal invitation accepted org=%s key=%s", invitation.organization_id, invitation.key
    )


def account_for_invitation(invitation: Invitation) -> AbstractBaseUser | None:
    """The existing password account the invitation's address names, if there is one."""
    return (
        get_user_model()
        .objects.filter(username__iexact=invitation.email)
        .exclude(username__startswith=SSO_USERNAME_PREFIX)
        .first()
    )


@sensitive_variables("password")
@transaction.atomic
def accept_invitation_with_password(invitation_id: int, password: str) -> AbstractBaseUser | None:
    """Create the invited person's account with ``password`` and make them a member; ``None``
    when the invitation is no longer usable or the address already has an account. The row is
    locked, so the same link cannot be accepted twice."""
    invitation = _use_up(invitation_id)
    if invitation is None or account_for_invitation(invitation) is not None:
        return None
    user = get_user_model().objects.create_user(
        username=invitation.email, email=invitation.email, password=password
    )
    _grant(user, invitation, invitation.created_by)
    _accepted(invitation, user, "password")
    return user


@transaction.atomic
def accept_invitation_as(invitation_id: int, user: AbstractBaseUser) -> Invitation | None:
    """Accept for the signed-in ``user`` whose account is the invited address."""
    invitation = _use_up(invitation_id)
    if invitation is None or user.get_username().lower() != invitation.email.lower():
        return None
    _grant(user, invitation, invitation.created_by)
    _accepted(invitation, user, "existing account")
    return invitation


@transaction.atomic
def accept_invitation_for_sso(invitation_id: int) -> Invitation | None:
    """Accept for an SSO-only organization: the account is made at the person's first SSO
    sign-in, which gives it the invited role (``grant_invited_role``)."""
    invitation = _use_up(invitation_id)
    if invitation is None:
        return None
    _accepted(invitation, None, "single sign-on")
    return invitation


def grant_invited_role(user: AbstractBaseUser, organization_id: int, email: str) -> None:
    """An SSO account signing in: the admin role an accepted invitation for its address gave."""
    invited_admin = Invitation.objects.filter(
        organization_id=organization_id,
        email__iexact=email,
        accepted_at__isnull=False,
        role=PortalRole.ADMIN,
    ).exists()
    if invited_admin:
        PortalMembership.objects.filter(user=user, organization_id=organization_id).exclude(
            role=PortalRole.ADMIN
        ).update(role=PortalRole.ADMIN)


def sso_only(organization: Organization) -> bool:
    """Whether ``organization`` signs in through SSO only (``PORTAL_SSO_ONLY_CHECK``, a hook
    from the app above, which the portal does not import)."""
    check = getattr(settings, "PORTAL_SSO_ONLY_CHECK", "")
    return bool(check) and bool(import_string(check)(organization))
