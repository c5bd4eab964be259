"""``services.active_token`` answers what ``ProvisioningToken.objects.active()`` would.

The statement is written by hand for speed, so these tests hold it to the QuerySet it replaces:
every kind of token a key can name, on both backends, the rows read back field for field.
"""

from datetime import timedelta

import pytest
from django.forms.models import model_to_dict
from django.utils import timezone

from organizations import services
from organizations.models import ProvisioningToken
from tests import factories
from tests.lookups import found_at_every_tenant

pytestmark = pytest.mark.django_db


def _orm_answer(public_id, key, now) -> ProvisioningToken | None:
    return (
        ProvisioningToken.objects.active(now)
        .filter(organization__public_id=public_id, organization__provisioning_enabled=True)
        .select_related("organization")
        .filter(key=key)
        .first()
    )


@pytest.fixture
def tokens_of_every_kind():
    """Tokens a presented key can name, by what they are, and the moment to ask at."""
    now = timezone.now()
    clinic = factories.make_organization()
    other = factories.make_organization(tenant_id=factories.TENANT_B)
    disabled = factories.make_organization()
    services.disable_provisioning_for(disabled, actor=None)

    active, _ = factories.make_token(clinic)
    expiring, _ = factories.make_token(clinic, expires_days=30)
    revoked, _ = factories.make_token(other)
    services.revoke_token(revoked, actor=None)
    expired, _ = factories.make_token(other, expires_days=1)
    ProvisioningToken.objects.filter(pk=expired.pk).update(expires_at=now - timedelta(seconds=1))
    of_disabled, _ = factories.make_token(disabled)
    kinds = {
        "active": active,
        "expiring": expiring,
        "revoked": revoked,
        "expired": expired,
        "provisioning disabled": of_disabled,
    }
    return kinds, [clinic, other, disabled], now


def test_every_key_at_every_tenant_finds_what_the_queryset_finds(tokens_of_every_kind):
    kinds, organizations, now = tokens_of_every_kind

    answers = found_at_every_tenant(
        lambda tenant, key: services.active_token(tenant, key, now), kinds, organizations
    )
    expected = found_at_every_tenant(
        lambda tenant, key: _orm_answer(tenant, key, now), kinds, organizations
    )

    assert answers == expected
    # The comparison means something: exactly the two usable tokens are found, each only at
    # its own organization's tenant URL.
    assert sorted(place for place, pk in answers.items() if pk) == [
        ("active", organizations[0].slug),
        ("expiring", organizations[0].slug),
    ]


def test_a_token_is_refused_from_the_moment_it_expires(tokens_of_every_kind):
    kinds, organizations, _ = tokens_of_every_kind
    expiring = kinds["expiring"]
    clinic = organizations[0]

    before = services.active_token(
        clinic.public_id, expiring.key, expiring.expires_at - timedelta(microseconds=1)
    )
    at = services.active_token(clinic.public_id, expiring.key, expiring.expires_at)

    assert before is not None and before.pk == expiring.pk
    assert at is None


def test_the_found_token_and_its_organization_read_as_the_orm_reads_them(
    tokens_of_every_kind, django_assert_num_queries
):
    kinds, organizations, now = tokens_of_every_kind
    clinic = organizations[0]
    expiring = kinds["expiring"]

    with django_assert_num_queries(1):
        found = services.active_token(clinic.public_id, expiring.key, now)
        organization = found.organization
    orm = _orm_answer(clinic.public_id, expiring.key, now)

    assert model_to_dict(found) == model_to_dict(orm)
    assert found.created_at == orm.created_at and found.expires_at == orm.expires_at
    assert model_to_dict(organization) == model_to_dict(orm.organization)
    assert organization.public_id == clinic.public_id
    assert organization.created_at == orm.organization.created_at
    assert found._state.adding is False
