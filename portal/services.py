"""Every operation of the portal app that writes: sync history, API keys, tenant admins, pruning.

Views, the admin, management commands and the recording middleware call these.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.tokens import default_token_generator
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from organizations import tokens
from organizations.models import Organization, ProvisioningToken
from scim.identity import identity_key

from . import apikeys
from .cycles import append_to_current_cycle, assign_cycle, counter_increments
from .explanations import summarize
from .models import (
    HistoryApiKey,
    MemberChange,
    PortalMembership,
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


def record_sync_event(
    organization: Organization, *, at: datetime, request_id: str,
    token: ProvisioningToken | None, token_label: str, token_prefix: str, method: str,
    path: str, operation: str, resource_type: str, resource_id: str, external_id: str,
    subject: str, changes: Sequence[Any], members_added: int, members_removed: int,
    filter_text: str, results: int | None, status_code: int, error_type: str,
    error_detail: str, duration_ms: float,
    member_ids: Mapping[str, Sequence[str]] | None = None,
) -> SyncEvent:
    """Store one SCIM request in ``organization``'s history and count it in its sync cycle.

    Runs after the SCIM view's transaction has committed or rolled back, in its own. On
    PostgreSQL the commit is asynchronous (``synchronous_commit off`` for this transaction
    only): history may lose its last few milliseconds in a server crash, SCIM data never.
    ``member_ids`` (``added``/``removed``/``refused`` lists of SCIM ids, already bounded by the
    SCIM layer) become ``SyncEventMember`` rows in one more statement.
    """
    succeeded = status_code < 400
    changes = _clean_changes(changes)
    summary = summarize(
        operation, subject=subject, changes=changes, members_added=members_added,
        members_removed=members_removed, filter_text=filter_text, results=results,
        method=method, path=path,
    )
    event = SyncEvent(
        organization=organization, created_at=at, request_id=request_id,
        token=token, token_label=_clip(token_label, 100), token_prefix=_clip(token_prefix, 32),
        method=_clip(method, 10), path=_clip(path, 300), operation=operation,
        summary=_clip(summary, 500), resource_type=_clip(resource_type, 10),
        resource_id=_clip(resource_id, 100), external_id=_clip(external_id, 200),
        subject=_clip(subject, 300), subject_key=_clip(identity_key(subject or ""), 300),
        changes=changes, members_added=members_added,
        members_removed=members_removed, filter=_clip(filter_text, 500), results=results,
        status_code=status_code, succeeded=succeeded, error_type=_clip(error_type, 40),
        error_detail=_clip(error_detail, 1000), duration_ms=round(duration_ms, 3),
    )
    increments = counter_increments(operation, succeeded=succeeded, status_code=status_code,
                                    members_added=members_added,
                                    members_removed=members_removed)
    if not append_to_current_cycle(event, increments):
        with transaction.atomic():
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL synchronous_commit TO OFF")
            event.cycle = assign_cycle(organization, at, increments)
            event.save(force_insert=True)
    _record_members(event, member_ids or {})
    return event


def _record_members(event: SyncEvent, member_ids: Mapping[str, Sequence[str]]) -> None:
    rows = [
        SyncEventMember(organization_id=event.organization_id, event=event,
                        created_at=event.created_at, group_id=event.resource_id,
                        member_id=_clip(member_id, 100), change=change)
        for change in MemberChange.values
        for member_id in (member_ids.get(change) or [])[:MEMBER_IDS_RECORDED]
        if isinstance(member_id, str)
    ]
    if rows:
        SyncEventMember.objects.bulk_create(rows)


def prune_sync_history(
    *, older_than_days: int | None = None, batch_size: int = 10_000,
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
            .order_by("created_at").values_list("pk", flat=True)[:batch_size]
        )
        if not batch:
            break
        deleted, _ = SyncEvent.objects.filter(pk__in=batch).delete()
        events_deleted += deleted
    cycles_deleted, _ = SyncCycle.objects.filter(last_event_at__lt=cutoff).delete()
    logger.info("sync history pruned events=%s cycles=%s cutoff=%s",
                events_deleted, cycles_deleted, cutoff.isoformat())
    return events_deleted, cycles_deleted


@transaction.atomic
def issue_history_api_key(
    organization: Organization, *, actor: Actor, label: str = ""
) -> tuple[HistoryApiKey, str]:
    """Issue an API key for ``organization``'s SIEM; returns the row and its plaintext, once."""
    key = tokens.generate_key()
    plaintext = apikeys.build_key(key)
    api_key = HistoryApiKey.objects.create(
        organization=organization, key=key, digest=apikeys.hash_key(plaintext), label=label,
        created_by=actor if actor is not None and actor.pk else None,
    )
    logger.info("history api key issued org=%s key=%s", organization.pk, key)
    return api_key, plaintext


def revoke_history_api_key(api_key: HistoryApiKey, *, actor: Actor) -> HistoryApiKey:
    """Revoke ``api_key`` at once; revoking twice changes nothing."""
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
        logger.info("history api key revoked org=%s key=%s by=%s", api_key.organization_id,
                    api_key.key, actor.pk if actor is not None else None)
    return api_key


@transaction.atomic
def create_tenant_admin(
    *, username: str, email: str, organizations: Iterable[Organization], actor: Actor,
) -> AbstractBaseUser:
    """Create a tenant admin with no usable password, linked to ``organizations``.

    They set their first password through ``first_password_link``.
    """
    user = get_user_model().objects.create_user(username=username, email=email)
    set_memberships(user, organizations, actor=actor)
    return user


@transaction.atomic
def set_memberships(
    user: AbstractBaseUser, organizations: Iterable[Organization], *, actor: Actor
) -> None:
    """Link ``user`` to exactly ``organizations``."""
    wanted = {organization.pk for organization in organizations}
    PortalMembership.objects.filter(user=user).exclude(organization_id__in=wanted).delete()
    existing = set(
        PortalMembership.objects.filter(user=user).values_list("organization_id", flat=True)
    )
    PortalMembership.objects.bulk_create([
        PortalMembership(user=user, organization_id=pk,
                         created_by=actor if actor is not None and actor.pk else None)
        for pk in wanted - existing
    ])


def first_password_link(user: AbstractBaseUser) -> str:
    """A one-time link to set a password: Django's password-reset token for ``user``.

    The token hashes the current password and last login, so it stops working as soon as it
    has been used, and after ``PASSWORD_RESET_TIMEOUT``.
    """
    uidb64 = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    path = reverse("portal:set_password", kwargs={"uidb64": uidb64, "token": token})
    return f"{settings.PUBLIC_BASE_URL}{path}"
