"""A user or group by its id reads what the scoped QuerySet reads, and locks as it locks.

``scoping.resource_with_id`` is a statement written by hand for speed (``core.fixedselect``);
every GET, PATCH, PUT and DELETE of ``/Users/{id}`` and ``/Groups/{id}`` starts with it. These
tests hold it to ``scoped_queryset(...).filter(scim_id=...).first()``, across organizations,
and to ``select_for_update()``'s lock.
"""

import uuid

import psycopg
import pytest
from django.db import connection, transaction
from django.db.transaction import TransactionManagementError
from django.forms.models import model_to_dict
from django.test.utils import CaptureQueriesContext

from scim import scoping
from scim.models import ScimGroup, ScimUser
from tests import factories

from .conftest import bulk_users, make_group, make_user, statistics_of_a_nearly_empty_table

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
# What the second session runs to learn whether a user row is locked.
LOCK_USER_ROW = "SELECT 1 FROM scim_scimuser WHERE id = %s FOR UPDATE NOWAIT"


def _second_connection() -> psycopg.Connection:
    """Another session on the test database, outside Django, to try the row's lock (closed
    when its ``with`` block ends)."""
    settings = connection.settings_dict
    return psycopg.connect(
        host=settings["HOST"],
        port=settings["PORT"] or 5432,
        user=settings["USER"],
        dbname=settings["NAME"],
        autocommit=True,
    )


def _orm(model, organization, scim_id):
    return model.objects.filter(organization=organization, scim_id=scim_id).first()


@pytest.mark.django_db
def test_each_id_at_each_organization_finds_what_the_scoped_queryset_finds(scim):
    other = factories.make_organization(tenant_id=factories.TENANT_B)
    alice = make_user(scim.organization, "alice@clinic.test")
    bob = make_user(other, "bob@clinic.test")
    nurses = make_group(scim.organization, "Nurses", [alice])
    doctors = make_group(other, "Doctors", [bob])
    ids = [alice.scim_id, bob.scim_id, nurses.scim_id, doctors.scim_id, uuid.uuid4()]

    answers, expected = {}, {}
    for organization in (scim.organization, other):
        for model in (ScimUser, ScimGroup):
            for scim_id in ids:
                key = (organization.slug, model.__name__, scim_id)
                found = scoping.resource_with_id(model, organization, scim_id)
                answers[key] = found.pk if found else None
                orm = _orm(model, organization, scim_id)
                expected[key] = orm.pk if orm else None

    assert answers == expected
    # Each of the four resources is found exactly once: by its own organization, as its kind.
    assert sorted(pk for pk in answers.values() if pk) == sorted(
        [alice.pk, bob.pk, nurses.pk, doctors.pk]
    )


@pytest.mark.django_db
def test_the_user_found_by_id_reads_as_the_orm_reads_it(scim):
    attributes = {
        "externalId": "c-1",
        "active": False,
        "title": "Charge nurse",
        "phoneNumbers": [{"value": "+1 555 0100", "type": "work"}],
        ENTERPRISE: {"department": "Cardiology", "manager": {"value": "m-1"}},
    }
    user = make_user(scim.organization, "carol@clinic.test", **attributes)

    found = scoping.resource_with_id(ScimUser, scim.organization, user.scim_id)
    orm = _orm(ScimUser, scim.organization, user.scim_id)

    assert model_to_dict(found) == model_to_dict(orm)
    assert found.attributes == orm.attributes and found.attributes
    assert (found.scim_id, found.created_at, found.updated_at, found.version) == (
        orm.scim_id,
        orm.created_at,
        orm.updated_at,
        orm.version,
    )
    assert found.organization is scim.organization
    assert found._state.adding is False


@pytest.mark.django_db
def test_the_group_found_by_id_reads_as_the_orm_reads_it(scim):
    group = make_group(scim.organization, "Ward 7", externalId="g-7")

    found = scoping.resource_with_id(ScimGroup, scim.organization, group.scim_id)
    orm = _orm(ScimGroup, scim.organization, group.scim_id)

    assert model_to_dict(found) == model_to_dict(orm)
    assert (found.scim_id, found.created_at, found.updated_at, found.version) == (
        orm.scim_id,
        orm.created_at,
        orm.updated_at,
        orm.version,
    )


@pytest.mark.postgres_only  # SQLite has no row locks, and Django refuses nothing there
@pytest.mark.django_db(transaction=True)  # each test's own transaction would hide the refusal
def test_a_locking_read_outside_a_transaction_is_refused_as_select_for_update_is(scim):
    user = make_user(scim.organization, "dave@clinic.test")

    with pytest.raises(TransactionManagementError):
        scoping.resource_with_id(ScimUser, scim.organization, user.scim_id, for_update=True)


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_locking_read_holds_the_row_until_the_transaction_ends(scim):
    user = make_user(scim.organization, "erin@clinic.test")
    with _second_connection() as other:
        with transaction.atomic():
            scoping.resource_with_id(ScimUser, scim.organization, user.scim_id, for_update=True)
            with pytest.raises(psycopg.errors.LockNotAvailable):
                other.execute(LOCK_USER_ROW, [user.pk])
        assert other.execute(LOCK_USER_ROW, [user.pk]).fetchone() == (1,)


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_locking_read_of_another_organizations_id_finds_nothing_and_locks_nothing(scim):
    other_organization = factories.make_organization(tenant_id=factories.TENANT_B)
    theirs = make_user(other_organization, "grace@clinic.test")
    with _second_connection() as other, transaction.atomic():
        found = scoping.resource_with_id(
            ScimUser, scim.organization, theirs.scim_id, for_update=True
        )
        assert found is None
        assert other.execute(LOCK_USER_ROW, [theirs.pk]).fetchone() == (1,)


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_plain_read_takes_no_lock(scim):
    user = make_user(scim.organization, "frank@clinic.test")
    with _second_connection() as other, transaction.atomic():
        scoping.resource_with_id(ScimUser, scim.organization, user.scim_id)
        locked = other.execute(LOCK_USER_ROW, [user.pk])
        assert locked.fetchone() == (1,)


@pytest.mark.postgres_only
@pytest.mark.django_db
@pytest.mark.parametrize("for_update", [False, True])
@pytest.mark.parametrize("model", [ScimUser, ScimGroup])
def test_a_read_by_id_probes_the_id_even_without_statistics(scim, model, for_update):
    """Without statistics (a new database, autovacuum off) the planner priced an index led by
    ``organization_id`` the same as the ``scim_id`` probe, and read the whole tenant to find
    one row (README, "Issue 21, fifteenth round")."""
    if model is ScimUser:
        bulk_users(scim.organization, 1_200)
    else:
        ScimGroup.objects.bulk_create(
            ScimGroup(
                organization=scim.organization, display_name=f"G{n}", display_name_key=f"g{n}"
            )
            for n in range(1_200)
        )
    wanted = model.objects.filter(organization=scim.organization).order_by("pk")[600]
    statistics_of_a_nearly_empty_table(model._meta.db_table)

    with transaction.atomic(), CaptureQueriesContext(connection) as captured:
        found = scoping.resource_with_id(
            model, scim.organization, wanted.scim_id, for_update=for_update
        )
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN {captured.captured_queries[-1]['sql']}")
            plan = "\n".join(row[0] for row in cursor.fetchall())

    assert found.pk == wanted.pk
    assert f"Index Scan using {model._meta.db_table}_scim_id_key" in plan, plan
    assert "Index Cond: (organization_id" not in plan, plan
