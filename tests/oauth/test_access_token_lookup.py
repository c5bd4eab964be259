"""``usable_access_token`` answers what ``usable_access_tokens()`` would.

The statement is written by hand for speed (``core.fixedselect``), so these tests hold it to the
QuerySet it replaces: every kind of access token a key can name, at every tenant URL, and the
rows read back field for field.
"""

from datetime import timedelta

import pytest
from django.forms.models import model_to_dict
from django.utils import timezone

from oauth import services as oauth
from oauth.models import OAuthAccessToken, OAuthClientSecret
from organizations import services as organizations
from tests import factories
from tests.lookups import found_at_every_tenant

pytestmark = pytest.mark.django_db


def _orm_answer(public_id, key, now) -> OAuthAccessToken | None:
    return (
        OAuthAccessToken.objects.filter(
            oauth.usable_access_tokens(now), client__organization__public_id=public_id
        )
        .select_related("client__organization")
        .filter(key=key)
        .first()
    )


def _token(client, secret: OAuthClientSecret | None) -> OAuthAccessToken:
    return oauth.issue_access_token(client, client_secret=secret)[0]


@pytest.fixture
def access_tokens_of_every_kind():
    """Access tokens a presented key can name, by what they are, and the moment to ask at."""
    now = timezone.now()
    clinic = factories.make_organization()
    other = factories.make_organization(tenant_id=factories.TENANT_B)
    disabled = factories.make_organization()

    client, _ = factories.make_oauth_client(clinic)
    secret = client.secrets.get()
    kinds = {
        "usable": _token(client, secret),
        "usable without a secret": _token(client, None),
        "revoked": _token(client, secret),
        "expired": _token(client, secret),
    }
    OAuthAccessToken.objects.filter(pk=kinds["revoked"].pk).update(revoked_at=now)
    OAuthAccessToken.objects.filter(pk=kinds["expired"].pk).update(expires_at=now)

    lapsed_client, _ = factories.make_oauth_client(other)
    lapsed = lapsed_client.secrets.get()
    kinds["secret lapsed"] = _token(lapsed_client, lapsed)
    OAuthClientSecret.objects.filter(pk=lapsed.pk).update(expires_at=now - timedelta(seconds=1))
    withdrawn_client, _ = factories.make_oauth_client(other)
    withdrawn = withdrawn_client.secrets.get()
    kinds["secret revoked"] = _token(withdrawn_client, withdrawn)
    OAuthClientSecret.objects.filter(pk=withdrawn.pk).update(revoked_at=now)
    revoked_client, _ = factories.make_oauth_client(other)
    kinds["client revoked"] = _token(revoked_client, revoked_client.secrets.get())
    oauth.revoke_oauth_client(revoked_client, actor=None)
    usable_elsewhere, _ = factories.make_oauth_client(other)
    kinds["usable at the other"] = _token(usable_elsewhere, usable_elsewhere.secrets.get())

    disabled_client, _ = factories.make_oauth_client(disabled)
    kinds["provisioning disabled"] = _token(disabled_client, disabled_client.secrets.get())
    organizations.disable_provisioning_for(disabled, actor=None)
    return kinds, [clinic, other, disabled], now


def test_every_key_at_every_tenant_finds_what_the_queryset_finds(access_tokens_of_every_kind):
    kinds, organizations_, now = access_tokens_of_every_kind

    answers = found_at_every_tenant(
        lambda tenant, key: oauth.usable_access_token(tenant, key, now), kinds, organizations_
    )
    expected = found_at_every_tenant(
        lambda tenant, key: _orm_answer(tenant, key, now), kinds, organizations_
    )

    assert answers == expected
    assert sorted(place for place, pk in answers.items() if pk) == [
        ("usable", organizations_[0].slug),
        ("usable at the other", organizations_[1].slug),
        ("usable without a secret", organizations_[0].slug),
    ]


def test_the_token_its_client_and_organization_read_as_the_orm_reads_them(
    access_tokens_of_every_kind, django_assert_num_queries
):
    kinds, organizations_, now = access_tokens_of_every_kind
    clinic = organizations_[0]
    token = kinds["usable"]

    with django_assert_num_queries(1):
        found = oauth.usable_access_token(clinic.public_id, token.key, now)
        client = found.client
        organization = client.organization
    orm = _orm_answer(clinic.public_id, token.key, now)

    assert model_to_dict(found) == model_to_dict(orm)
    assert (found.created_at, found.expires_at) == (orm.created_at, orm.expires_at)
    assert model_to_dict(client) == model_to_dict(orm.client)
    assert client.created_at == orm.client.created_at
    assert model_to_dict(organization) == model_to_dict(orm.client.organization)
    assert organization.public_id == clinic.public_id
