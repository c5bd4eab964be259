"""``core.credentials``: adding a credential kind is one registry entry."""

from __future__ import annotations

import uuid
from datetime import datetime

import pytest
from django.utils import timezone

from core import credentials
from core.credentials import ActiveCredential, AuthenticatedCredential, CredentialType
from organizations.models import Organization

pytestmark = pytest.mark.django_db

FAKE_SECRET = "k2z_fake-kind-presented-secret"


def _authenticate(tenant: uuid.UUID, presented: str) -> AuthenticatedCredential | None:
    organization = Organization.objects.filter(public_id=tenant).first()
    if organization is None or presented != FAKE_SECRET:
        return None
    return AuthenticatedCredential(
        organization=organization, kind="fake_kind", public_id="k2z_fake…", expires_at=None
    )


def _active(organization_ids, now: datetime):
    for pk in organization_ids:
        yield pk, ActiveCredential("fake_kind", "k2z_fake…", None, label="test kind")


FAKE_KIND = CredentialType(
    kind="fake_kind",
    label="Fake kind",
    prefix="k2z_",
    noun="fake credential",
    short_noun="fake",
    authenticate=_authenticate,
    active=_active,
)


@pytest.fixture
def fake_kind():
    credentials.register(FAKE_KIND)
    yield FAKE_KIND
    credentials.unregister(FAKE_KIND.kind)


def test_a_registered_kind_authenticates_through_authenticate_bearer(organization, fake_kind):
    credential = authenticate_bearer_for(organization, FAKE_SECRET)

    assert (credential.organization, credential.kind) == (organization, "fake_kind")


def test_an_unregistered_prefix_authenticates_nothing(organization):
    assert authenticate_bearer_for(organization, FAKE_SECRET) is None


def test_a_registered_kind_appears_among_the_active_credentials(organization, fake_kind):
    active = credentials.active_credentials(organization, timezone.now())

    assert [(c.kind, c.noun, c.label) for c in active] == [
        ("fake_kind", "fake credential", "test kind")
    ]


def test_a_registered_kind_is_a_choice_of_the_stored_credential_kind(fake_kind):
    assert ("fake_kind", "Fake kind") in credentials.kind_choices()


def test_the_projects_kinds_keep_their_stored_values():
    assert [t.kind for t in credentials.types()] == [
        "secret_token",
        "oauth_client",
        "workload_identity",
    ]


def test_a_second_kind_with_a_taken_value_is_refused(fake_kind):
    other = CredentialType(**{**FAKE_KIND.__dict__, "label": "Another kind"})

    with pytest.raises(ValueError, match="already registered"):
        credentials.register(other)


def authenticate_bearer_for(organization: Organization, presented: str):
    return credentials.authenticate_bearer(str(organization.public_id), presented)
