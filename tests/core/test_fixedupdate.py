"""``FixedUpdate`` writes what ``save(update_fields=…)`` writes, and refuses what it could not.

Held against the ORM on the one model that uses it, ``ScimUser`` (every SCIM user PATCH and
PUT, through ``ScimUser.save_fields``)."""

from datetime import timedelta

import pytest
from django.db import DatabaseError
from django.forms.models import model_to_dict
from django.utils import timezone

from core.fixedupdate import FixedUpdate
from scim.models import ScimUser, identity_key
from tests import factories

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCHED = ["display_name", "active", "family_name", "attributes", "updated_at", "version"]


def _saved_user(organization, user_name: str) -> ScimUser:
    user = ScimUser(
        organization=organization,
        user_name=user_name,
        display_name="Dana Scully",
        given_name="Dana",
        family_name="Scully",
        work_email="dana@clinic.test",
        attributes={"title": "Pathologist"},
    )
    user.save()
    return user


def _change(user: ScimUser, when) -> None:
    """What a PATCH changes in memory: the patched fields, and one it must not write."""
    user.display_name = "Dana K. Scully"
    user.active = False
    user.family_name = None
    user.attributes = {ENTERPRISE: {"department": "Pathology"}, "emails": []}
    user.updated_at = when
    user.version += 1
    user.work_email = "not-saved@clinic.test"  # not among the fields written


def _as_read(user: ScimUser) -> dict:
    return model_to_dict(
        ScimUser.objects.get(pk=user.pk), exclude=["id", "user_name", "user_name_key", "scim_id"]
    )


@pytest.mark.django_db
def test_an_updated_user_reads_back_field_for_field_as_one_saved_with_update_fields():
    organization = factories.make_organization()
    by_orm = _saved_user(organization, "dana@clinic.test")
    by_statement = _saved_user(organization, "dana.s@clinic.test")
    when = timezone.now() + timedelta(minutes=5)
    _change(by_orm, when)
    _change(by_statement, when)

    by_orm.save(update_fields=PATCHED)
    by_statement.save_fields(PATCHED)

    assert _as_read(by_statement) == _as_read(by_orm)
    assert _as_read(by_statement)["work_email"] == "dana@clinic.test"
    assert ScimUser.objects.get(pk=by_statement.pk).updated_at == when


@pytest.mark.django_db
def test_a_renamed_user_keeps_its_identity_key_in_step():
    user = _saved_user(factories.make_organization(), "fox@clinic.test")
    user.user_name = "Fox.Mulder@Clinic.TEST"

    user.save_fields(["user_name"])

    stored = ScimUser.objects.get(pk=user.pk)
    assert stored.user_name == "Fox.Mulder@Clinic.TEST"
    assert stored.user_name_key == identity_key("fox.mulder@clinic.test")


@pytest.mark.django_db
def test_a_row_deleted_meanwhile_is_an_error_as_save_with_update_fields_makes_it():
    user = _saved_user(factories.make_organization(), "walter@clinic.test")
    ScimUser.objects.filter(pk=user.pk).delete()
    user.display_name = "Walter Skinner"

    with pytest.raises(DatabaseError, match="did not affect any rows"):
        user.save_fields(["display_name"])


@pytest.mark.django_db
def test_an_unsaved_user_is_refused():
    user = ScimUser(organization=factories.make_organization(), user_name="new@clinic.test")

    with pytest.raises(ValueError, match="not saved"):
        user.save_fields(["display_name"])
    assert ScimUser.objects.count() == 0


def test_the_primary_key_is_refused_when_declared():
    with pytest.raises(ValueError, match="primary key"):
        FixedUpdate(ScimUser, ["id", "display_name"])
