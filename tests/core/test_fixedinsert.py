"""``FixedInsert`` writes the row ``save()`` writes, and refuses what it could not write so.

Held against the ORM on the one model that uses it, ``ScimUser`` (every SCIM user create)."""

import pytest
from django.contrib.sessions.models import Session
from django.forms.models import model_to_dict

from core.fixedinsert import FixedInsert
from scim.models import ScimUser, identity_key
from tests import factories

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def _user(organization, user_name: str, **fields) -> ScimUser:
    return ScimUser(
        organization=organization,
        user_name=user_name,
        external_id=None,
        display_name="Dana Scully",
        given_name="Dana",
        family_name=None,
        work_email="dana@clinic.test",
        active=None,
        attributes={ENTERPRISE: {"department": "Pathology"}, "nickName": "D", "emails": []},
        **fields,
    )


def _as_read(user: ScimUser) -> dict:
    return model_to_dict(ScimUser.objects.get(pk=user.pk), exclude=["id", "user_name", "scim_id"])


@pytest.mark.django_db
def test_an_inserted_user_reads_back_field_for_field_as_a_saved_one():
    organization = factories.make_organization()
    saved = _user(organization, "dana@clinic.test")
    saved.save()
    inserted = _user(
        organization, "dana.s@clinic.test", created_at=saved.created_at, updated_at=saved.updated_at
    )

    inserted.insert()

    assert {**_as_read(inserted), "user_name_key": ""} == {**_as_read(saved), "user_name_key": ""}
    assert ScimUser.objects.get(pk=inserted.pk).scim_id == inserted.scim_id


@pytest.mark.django_db
def test_an_inserted_user_is_left_as_save_leaves_it():
    user = _user(factories.make_organization(), "Fox.Mulder@Clinic.TEST")

    user.insert()

    assert user.pk == ScimUser.objects.get(user_name="Fox.Mulder@Clinic.TEST").pk
    assert user._state.adding is False
    assert user._state.db == "default"
    assert user.user_name_key == identity_key("Fox.Mulder@Clinic.TEST")
    assert ScimUser.objects.get(pk=user.pk).user_name_key == identity_key("fox.mulder@clinic.test")


@pytest.mark.django_db
def test_a_saved_row_is_not_inserted_again():
    user = _user(factories.make_organization(), "walter@clinic.test")
    user.save()

    with pytest.raises(ValueError, match="saved already"):
        user.insert()
    assert ScimUser.objects.count() == 1


def test_a_model_whose_key_the_database_does_not_assign_is_refused_when_declared():
    with pytest.raises(ValueError, match="not an auto-increment field"):
        FixedInsert(Session)
