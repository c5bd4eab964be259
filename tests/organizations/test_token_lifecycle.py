"""Issuing, verifying, expiring, revoking and rotating provisioning tokens."""

import threading
import uuid
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core import tokens
from organizations import services
from organizations.models import AuditRecord, ProvisioningToken
from tests import factories
from tests.factories import TOKEN_PATTERN


def test_issued_token_has_the_documented_format_and_a_year_of_life(organization, staff_user):
    row, plaintext = services.issue_token(organization, actor=staff_user, label="Azure AD")
    assert TOKEN_PATTERN.fullmatch(plaintext)
    assert plaintext.startswith(f"k2p_{row.key}_")
    lifetime = row.expires_at - timezone.now()
    assert lifetime == pytest.approx(timedelta(days=365), abs=timedelta(minutes=1))
    assert row.created_by == staff_user


@pytest.mark.parametrize("days", [0, -1, services.MAX_EXPIRY_DAYS + 1])
def test_expiry_outside_the_allowed_range_is_refused(organization, days):
    with pytest.raises(services.ProvisioningError):
        services.issue_token(organization, actor=None, expires_days=days)


def test_token_authenticates_at_its_own_tenant_url(organization, token):
    row, plaintext = token
    assert services.authenticate_token(str(organization.public_id), plaintext) == row


def test_token_is_rejected_at_another_organizations_tenant_url(
    organization, other_organization, token
):
    _, plaintext = token
    assert services.authenticate_token(str(other_organization.public_id), plaintext) is None


@pytest.mark.parametrize(
    "tamper",
    [
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # checksum no longer matches
        lambda t: tokens.build_token(t[4:16], "k2p_"),  # right key, wrong secret
        lambda t: t.upper(),
        lambda t: "",
        lambda t: f"Bearer {t}",
    ],
)
def test_altered_token_is_rejected(organization, token, tamper):
    _, plaintext = token
    assert services.authenticate_token(organization.public_id, tamper(plaintext)) is None


@pytest.mark.parametrize("public_id", ["not-a-uuid", "", None, str(uuid.uuid4())])
def test_unknown_or_malformed_tenant_is_rejected_without_an_error(token, public_id):
    _, plaintext = token
    assert services.authenticate_token(public_id, plaintext) is None


def test_revoked_token_is_rejected(organization, token, staff_user):
    row, plaintext = token
    services.revoke_token(row, actor=staff_user)
    assert services.authenticate_token(organization.public_id, plaintext) is None


def test_revoking_records_who_and_when(token, staff_user):
    row, _ = token
    services.revoke_token(row, actor=staff_user)
    row.refresh_from_db()
    assert row.revoked_by == staff_user
    assert row.revoked_at is not None


def test_revoking_twice_changes_nothing(token, staff_user):
    row, _ = token
    first = services.revoke_token(row, actor=staff_user).revoked_at
    assert services.revoke_token(row, actor=staff_user).revoked_at == first
    assert AuditRecord.objects.filter(action="token_revoked").count() == 1


def test_token_is_rejected_once_it_expires(organization, time_machine):
    time_machine.move_to(timezone.now(), tick=False)
    _, plaintext = factories.make_token(organization, expires_days=1)
    time_machine.shift(timedelta(days=1, seconds=-1))
    assert services.authenticate_token(organization.public_id, plaintext) is not None
    time_machine.shift(timedelta(seconds=1))
    assert services.authenticate_token(organization.public_id, plaintext) is None


def _updates(queries) -> list[str]:
    return [q["sql"] for q in queries if q["sql"].upper().startswith("UPDATE")]


def test_last_used_is_written_at_most_once_per_resolution(
    organization, token, settings, time_machine
):
    settings.TOKEN_LAST_USED_RESOLUTION_SECONDS = 300
    time_machine.move_to(timezone.now(), tick=False)
    row, plaintext = token
    with CaptureQueriesContext(connection) as first:
        services.authenticate_token(organization.public_id, plaintext)
    time_machine.shift(timedelta(seconds=299))
    with CaptureQueriesContext(connection) as within:
        services.authenticate_token(organization.public_id, plaintext)
    time_machine.shift(timedelta(seconds=1))
    with CaptureQueriesContext(connection) as after:
        services.authenticate_token(organization.public_id, plaintext)
    assert (len(_updates(first)), len(_updates(within)), len(_updates(after))) == (1, 0, 1)
    row.refresh_from_db()
    assert row.last_used_at == timezone.now()


def test_at_most_two_tokens_are_active_at_once(organization):
    factories.make_token(organization)
    factories.make_token(organization)
    with pytest.raises(services.ProvisioningError, match="already has 2 active tokens"):
        factories.make_token(organization)


def test_a_revoked_token_frees_its_place(organization, staff_user):
    first, _ = factories.make_token(organization)
    factories.make_token(organization)
    services.revoke_token(first, actor=staff_user)
    factories.make_token(organization)
    assert organization.tokens.active().count() == 2


def test_rotated_token_keeps_working_through_the_grace_period_then_lapses(
    organization, token, settings, time_machine
):
    settings.TOKEN_ROTATION_GRACE_DAYS = 7
    time_machine.move_to(timezone.now(), tick=False)
    old, old_plaintext = token
    new, new_plaintext = services.rotate_token(old, actor=None)
    time_machine.shift(timedelta(days=7, seconds=-1))
    assert services.authenticate_token(organization.public_id, old_plaintext) == old
    assert services.authenticate_token(organization.public_id, new_plaintext) == new
    time_machine.shift(timedelta(seconds=1))
    assert services.authenticate_token(organization.public_id, old_plaintext) is None
    assert services.authenticate_token(organization.public_id, new_plaintext) == new


def test_rotation_never_extends_an_old_token_that_expires_sooner(organization):
    old, _ = factories.make_token(organization, expires_days=2)
    expires_at = old.expires_at
    services.rotate_token(old, actor=None, grace_days=7)
    old.refresh_from_db()
    assert old.expires_at == expires_at


def test_rotating_a_revoked_token_is_refused(token):
    row, _ = token
    services.revoke_token(row, actor=None)
    with pytest.raises(services.ProvisioningError, match="only an active token"):
        services.rotate_token(row, actor=None)


def test_rotating_while_two_tokens_are_active_is_refused(organization, token):
    factories.make_token(organization)
    with pytest.raises(
        services.ProvisioningError,
        match=r"revoke k2p_\w+… \(the token you are not rotating\) first",
    ):
        services.rotate_token(token[0], actor=None)


def test_rotation_is_audited_with_both_tokens(token):
    old, _ = token
    new, _ = services.rotate_token(old, actor="manage.py rotate_token (ops)")
    record = AuditRecord.objects.get(action="token_rotated")
    assert record.detail["token"] == old.display_prefix
    assert record.detail["replacement"] == new.display_prefix


def _every_stored_value() -> str:
    """Every row of every table as text, plus decoded sessions (their column is encoded)."""
    from django.contrib.sessions.models import Session

    chunks = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            chunks.extend(repr(row) for row in cursor.fetchall())
    chunks.extend(repr(session.get_decoded()) for session in Session.objects.all())
    return "\n".join(chunks)


def test_only_a_keyed_hash_of_the_token_is_stored(organization, staff_user):
    row, plaintext = services.issue_token(organization, actor=staff_user, label="Azure AD")
    secret = plaintext[len("k2p_") + tokens.KEY_LENGTH + 1 :]
    stored = _every_stored_value()
    assert row.key in stored
    assert secret not in stored
    assert secret[:16] not in stored
    assert ProvisioningToken.objects.get(pk=row.pk).digest == tokens.hash_token(
        plaintext, "test-pepper-not-a-secret"
    )


def test_dumpdata_never_contains_the_token(organization, capsys):
    _, plaintext = factories.make_token(organization)
    call_command("dumpdata", "--all")
    assert plaintext[16:] not in capsys.readouterr().out


def test_token_string_never_shows_the_secret(token):
    row, plaintext = token
    assert str(row) == f"k2p_{row.key}…"
    assert plaintext[17:] not in str(row) + repr(row)


def test_repr_of_a_token_hides_its_secret(token):
    _, plaintext = token
    assert plaintext[17:] not in repr(plaintext)
    assert plaintext[17:] not in repr(tokens.parse_token(plaintext, "k2p_"))
    assert plaintext[17:] not in repr({"context": [plaintext]})


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_issuing_never_exceeds_two_active_tokens(organization):
    factories.make_token(organization)
    barrier = threading.Barrier(4)
    outcomes = []

    def issue() -> None:
        try:
            barrier.wait()
            services.issue_token(organization, actor=None)
            outcomes.append("issued")
        except services.ProvisioningError:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=issue) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["issued", "refused", "refused", "refused"]
    assert organization.tokens.active().count() == 2
