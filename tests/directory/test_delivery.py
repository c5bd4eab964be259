"""Webhook delivery to a real receiver on 127.0.0.1 that verifies Standard Webhooks signatures."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from directory import delivery, services
from directory.models import DeliveryStatus, WebhookDelivery, WebhookSecret
from tests.scim.conftest import make_group, make_user

OWNER = "test-worker"


def _deliver(endpoint, organization):
    return delivery.deliver_stream(endpoint.pk, organization.pk, owner=OWNER)


def _make_due(endpoint):
    WebhookDelivery.objects.filter(endpoint=endpoint).update(next_attempt_at=timezone.now())


def test_events_arrive_signed_in_position_order(organization, endpoint, receiver):
    alice = make_user(organization, "alice@riverside.example")
    make_group(organization, "Nurses", members=[alice])

    outcome = _deliver(endpoint, organization)

    assert outcome.delivered == 3
    assert receiver.types() == ["user.created", "group.created", "group.member_added"]
    assert receiver.positions() == [1, 2, 3]
    assert receiver.rejected == []
    assert receiver.headers[0]["webhook-id"] == receiver.received[0]["id"]


def test_a_delivered_event_is_marked_and_not_sent_again(organization, endpoint, receiver):
    make_user(organization, "alice@riverside.example")
    _deliver(endpoint, organization)

    _deliver(endpoint, organization)

    assert len(receiver.received) == 1
    assert WebhookDelivery.objects.get().status == DeliveryStatus.DELIVERED


def test_a_receiver_answering_500_then_200_gets_everything_in_order(
    organization, endpoint, receiver
):
    for n in range(3):
        make_user(organization, f"u{n}@riverside.example")
    receiver.script.extend([500, 500])

    first = _deliver(endpoint, organization)
    _make_due(endpoint)
    second = _deliver(endpoint, organization)
    _make_due(endpoint)
    third = _deliver(endpoint, organization)

    assert (first.failed, second.failed, third.delivered) == (1, 1, 3)
    assert receiver.positions() == [1, 2, 3]
    head = WebhookDelivery.objects.get(position=1)
    assert (head.attempts, head.last_status_code) == (3, 200)


def test_a_failure_schedules_the_retry_from_the_schedule_with_jitter(
    organization, endpoint, receiver, settings
):
    settings.WEBHOOK_RETRY_SECONDS = [100, 1000]
    make_user(organization, "alice@riverside.example")
    receiver.script.extend([500, 500])

    before = timezone.now()
    outcome = _deliver(endpoint, organization)

    row = WebhookDelivery.objects.get()
    assert (row.attempts, row.last_status_code, row.last_error) == (1, 500, "HTTP 500")
    assert (
        before + timedelta(seconds=50)
        <= row.next_attempt_at
        <= timezone.now() + timedelta(seconds=100)
    )
    assert outcome.retry_at == row.next_attempt_at


def test_a_receiver_hanging_past_the_timeout_is_a_failure_retried_later(
    organization, endpoint, receiver, settings
):
    settings.WEBHOOK_TIMEOUT_SECONDS = 1
    make_user(organization, "alice@riverside.example")
    receiver.hang_seconds = 3
    receiver.script.append("hang")

    outcome = _deliver(endpoint, organization)

    row = WebhookDelivery.objects.get()
    assert outcome.failed == 1
    assert row.status == DeliveryStatus.PENDING
    assert row.last_error == "no answer within 1 s"


def test_a_second_organizations_events_never_reach_the_first_ones_endpoint(
    organization, other_organization, endpoint, receiver
):
    make_user(other_organization, "x@lakeside.example")
    make_user(organization, "alice@riverside.example")

    _deliver(endpoint, organization)
    _deliver(endpoint, other_organization)

    assert [p["organization"]["slug"] for p in receiver.received] == ["riverside"]


def test_an_all_organizations_endpoint_gets_every_organizations_events(
    organization, other_organization, receiver
):
    endpoint, secret = services.add_endpoint(None, url=receiver.url, actor=None)
    receiver.secret = secret
    make_user(organization, "alice@riverside.example")
    make_user(other_organization, "x@lakeside.example")

    _deliver(endpoint, organization)
    _deliver(endpoint, other_organization)

    assert sorted(p["organization"]["slug"] for p in receiver.received) == ["lakeside", "riverside"]


def test_after_a_rotation_both_secrets_verify_until_the_overlap_ends(
    organization, endpoint, receiver
):
    old_secret = receiver.secret
    new_secret = services.rotate_secret(endpoint, actor=None, overlap_hours=1)
    make_user(organization, "alice@riverside.example")
    _deliver(endpoint, organization)
    receiver.secret = new_secret
    make_user(organization, "bob@riverside.example")
    _deliver(endpoint, organization)

    assert receiver.types() == ["user.created", "user.created"]
    assert len(receiver.headers[0]["webhook-signature"].split(" ")) == 2
    assert old_secret != new_secret


def test_an_expired_old_secret_no_longer_signs(organization, endpoint, receiver):
    services.rotate_secret(endpoint, actor=None, overlap_hours=0)
    make_user(organization, "alice@riverside.example")

    _deliver(endpoint, organization)

    assert receiver.received == []
    assert receiver.rejected == ["No matching signature found"]


def test_secrets_are_stored_encrypted(endpoint, receiver):
    stored = WebhookSecret.objects.values_list("encrypted", flat=True).get()

    assert receiver.secret not in stored
    assert receiver.secret.removeprefix("whsec_") not in stored


def test_an_endpoint_failing_past_the_limit_is_disabled_and_staff_are_emailed(
    organization, endpoint, receiver, settings, mailoutbox
):
    settings.WEBHOOK_DISABLE_AFTER_HOURS = 2
    settings.WEBHOOK_ALERT_EMAILS = ["integrations@kno2.example"]
    make_user(organization, "alice@riverside.example")
    receiver.script.extend([500, 500, 500])
    _deliver(endpoint, organization)

    with time_machine.travel(timezone.now() + timedelta(hours=3)):
        _make_due(endpoint)
        _deliver(endpoint, organization)

    endpoint.refresh_from_db()
    assert not endpoint.is_enabled
    assert [m.to for m in mailoutbox] == [["integrations@kno2.example"]]
    assert endpoint.url in mailoutbox[0].subject


def test_a_disabled_endpoint_keeps_its_pending_events_until_enabled(
    organization, endpoint, receiver
):
    make_user(organization, "alice@riverside.example")
    services.disable_endpoint(endpoint, actor=None)

    _deliver(endpoint, organization)
    services.enable_endpoint(endpoint, actor=None)
    _deliver(endpoint, organization)

    assert receiver.types() == ["user.created"]


@pytest.mark.django_db(transaction=True)  # the worker closes its connection
def test_the_worker_does_not_deliver_the_stream_of_an_endpoint_disabled_after_queueing(
    organization, endpoint, receiver
):
    """The SCIM write queued the stream's wake-up while the endpoint was enabled; staff disable
    it before the worker gets there: the worker runs that task and sends nothing."""
    make_user(organization, "alice@riverside.example")
    services.disable_endpoint(endpoint, actor=None)

    call_command("webhook_worker", "--batch", stdout=StringIO())

    assert DBTaskResult.objects.filter(status="SUCCESSFUL").exists()
    assert receiver.received == []
    assert WebhookDelivery.objects.get().status == DeliveryStatus.PENDING


def test_a_stream_leased_by_another_worker_is_left_to_it(organization, endpoint, receiver):
    make_user(organization, "alice@riverside.example")
    assert delivery._claim(
        delivery.DeliveryStream.objects.create(endpoint=endpoint, organization=organization),
        "other-worker",
    )

    outcome = _deliver(endpoint, organization)

    assert outcome.busy_until is not None
    assert receiver.received == []


def test_a_dead_workers_lease_runs_out_and_the_next_worker_resumes(
    organization, endpoint, receiver
):
    make_user(organization, "alice@riverside.example")
    stream = delivery.DeliveryStream.objects.create(endpoint=endpoint, organization=organization)
    delivery._claim(stream, "killed-worker")

    with time_machine.travel(timezone.now() + delivery.lease_length() + timedelta(seconds=1)):
        outcome = _deliver(endpoint, organization)

    assert outcome.delivered == 1


def test_replay_from_a_position_sends_those_events_again_in_order(organization, endpoint, receiver):
    for n in range(4):
        make_user(organization, f"u{n}@riverside.example")
    _deliver(endpoint, organization)

    queued = services.replay_from(endpoint, 3)
    _deliver(endpoint, organization)

    assert queued == 2
    assert receiver.positions() == [1, 2, 3, 4, 3, 4]


def _group_of_three(organization):
    """Positions 1-3 the users, 4 the group, 5-7 its members: one delivery row for the span."""
    users = [make_user(organization, f"u{n}@riverside.example") for n in range(3)]
    make_group(organization, "Nurses", members=users)
    return users


def test_each_member_of_a_group_change_arrives_as_its_own_signed_event(
    organization, endpoint, receiver
):
    users = _group_of_three(organization)

    outcome = _deliver(endpoint, organization)

    assert outcome.delivered == 7
    assert receiver.positions() == [1, 2, 3, 4, 5, 6, 7]
    members = receiver.received[4:]
    assert [e["data"]["member"]["userName"] for e in members] == [u.user_name for u in users]
    assert len({h["webhook-id"] for h in receiver.headers}) == 7
    assert receiver.rejected == []


def test_a_failure_inside_a_group_change_resumes_at_that_member_without_resending_the_others(
    organization, endpoint, receiver
):
    _group_of_three(organization)
    receiver.script.extend([200, 200, 200, 200, 200, 500])

    first = _deliver(endpoint, organization)
    waiting = WebhookDelivery.objects.get(status=DeliveryStatus.PENDING)
    _make_due(endpoint)
    second = _deliver(endpoint, organization)

    assert (first.delivered, first.failed, second.delivered) == (5, 1, 2)
    assert (waiting.position, waiting.attempts, waiting.last_status_code) == (6, 1, 500)
    assert receiver.positions() == [1, 2, 3, 4, 5, 6, 7]
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"delivered"}


def test_replay_from_inside_a_group_change_starts_at_that_member(organization, endpoint, receiver):
    _group_of_three(organization)
    _deliver(endpoint, organization)

    services.replay_from(endpoint, 6)
    _deliver(endpoint, organization)

    assert receiver.positions() == [1, 2, 3, 4, 5, 6, 7, 6, 7]


def test_replay_reaches_events_written_before_the_endpoint_existed(organization, receiver):
    make_user(organization, "alice@riverside.example")
    endpoint, receiver.secret = services.add_endpoint(organization, url=receiver.url, actor=None)

    services.replay_from(endpoint, 1)
    _deliver(endpoint, organization)

    assert receiver.types() == ["user.created"]


def test_retry_now_makes_a_scheduled_retry_due(organization, endpoint, receiver, settings):
    settings.WEBHOOK_RETRY_SECONDS = [3600]
    make_user(organization, "alice@riverside.example")
    receiver.script.append(500)
    _deliver(endpoint, organization)

    services.retry_now(endpoint)
    _deliver(endpoint, organization)

    assert receiver.types() == ["user.created"]


def test_pruning_keeps_events_still_to_deliver(organization, endpoint, receiver):
    make_user(organization, "alice@riverside.example")
    make_user(organization, "bob@riverside.example")
    receiver.script.extend([200, 500])
    _deliver(endpoint, organization)

    with time_machine.travel(timezone.now() + timedelta(days=31)):
        deleted = services.prune_events(30)

    assert deleted == 1
    assert list(WebhookDelivery.objects.values_list("position", flat=True)) == [2]


def test_finished_delivery_tasks_are_pruned_after_a_day(organization, endpoint):
    from django_tasks_db.models import DBTaskResult

    make_user(organization, "alice@riverside.example")
    make_user(organization, "bob@riverside.example")
    old, recent = DBTaskResult.objects.order_by("enqueued_at")
    DBTaskResult.objects.filter(pk=old.pk).update(
        status="SUCCESSFUL", finished_at=timezone.now() - timedelta(days=2)
    )

    deleted = services.prune_task_results()

    assert deleted == 1
    assert list(DBTaskResult.objects.values_list("pk", flat=True)) == [recent.pk]


def test_a_loopback_receiver_gets_nothing_once_loopback_is_not_allowed(
    organization, endpoint, receiver, settings
):
    """Every delivery checks the address it connects to, not only the URL when it was saved."""
    make_user(organization, "alice@riverside.example")
    settings.OUTBOUND_ALLOW_LOOPBACK = False

    outcome = _deliver(endpoint, organization)

    row = WebhookDelivery.objects.get()
    assert outcome.failed == 1
    assert receiver.received == [] and receiver.headers == []
    assert row.status == DeliveryStatus.PENDING
    assert row.last_error.startswith("refused:")
