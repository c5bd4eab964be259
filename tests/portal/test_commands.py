from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from portal.models import SyncCycle, SyncEvent, SyncEventMember

from .conftest import record

pytestmark = pytest.mark.django_db


def _run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_sync_history_prints_recent_events_newest_first(organization):
    now = timezone.now()
    record(organization, subject="old@x.test", at=now - timedelta(minutes=5))
    record(organization, subject="new@x.test", status_code=409, error_type="uniqueness", at=now)

    lines = _run("sync_history", organization.slug).splitlines()

    assert len(lines) == 2
    assert "FAIL 409" in lines[0] and "new@x.test" in lines[0]
    assert "old@x.test" in lines[1]


def test_sync_history_json_prints_one_object_per_line(organization):
    for n in range(3):
        record(organization, subject=f"user{n}@x.test")

    lines = _run("sync_history", organization.slug, "--json", "--limit", "2").splitlines()

    parsed = [json.loads(line) for line in lines]
    assert len(parsed) == 2
    assert parsed[0]["subject"] == "user2@x.test"
    assert parsed[0]["outcome"] == "success"


def test_sync_history_refuses_an_unknown_organization(db):
    with pytest.raises(CommandError, match="No organization"):
        _run("sync_history", "nope")


def test_prune_deletes_only_history_older_than_the_retention(organization, settings):
    settings.SYNC_HISTORY_RETENTION_DAYS = 90
    now = timezone.now()
    record(organization, subject="ancient@x.test", at=now - timedelta(days=91))
    record(organization, subject="recent@x.test", at=now - timedelta(days=89))

    output = _run("prune_sync_history", "--batch-size", "1")

    assert list(SyncEvent.objects.values_list("subject", flat=True)) == ["recent@x.test"]
    assert SyncCycle.objects.count() == 1
    assert "Deleted 1 events and 1 cycles" in output


def _membership_change(organization, member: str, *, at):
    return record(
        organization,
        operation="update_members",
        resource_type="Group",
        resource_id="group-1",
        status_code=204,
        members_added=1,
        member_ids={"added": [member]},
        at=at,
    )


def test_prune_deletes_the_members_named_by_the_events_it_deletes(organization, settings):
    settings.SYNC_HISTORY_RETENTION_DAYS = 90
    now = timezone.now()
    _membership_change(organization, "ancient-member", at=now - timedelta(days=91))
    _membership_change(organization, "recent-member", at=now - timedelta(days=89))

    _run("prune_sync_history")

    assert list(SyncEventMember.objects.values_list("member_id", flat=True)) == ["recent-member"]


def test_deleting_an_organization_deletes_its_history_members(organization, other_organization):
    _membership_change(organization, "riverside-member", at=timezone.now())
    _membership_change(other_organization, "lakeside-member", at=timezone.now())

    organization.delete()

    assert list(SyncEventMember.objects.values_list("member_id", flat=True)) == ["lakeside-member"]


def test_prune_takes_the_retention_from_the_command_line(organization):
    record(organization, at=timezone.now() - timedelta(days=10))

    _run("prune_sync_history", "--days", "7")

    assert not SyncEvent.objects.exists()
