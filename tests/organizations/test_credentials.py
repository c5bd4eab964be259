"""``core.credentials``: one answer for every kind of SCIM credential."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from core.credentials import authenticate_bearer, bearer_token
from organizations.services import revoke_token
from tests import factories

pytestmark = pytest.mark.django_db


def test_a_secret_token_authenticates_as_its_organizations_credential(organization, token):
    row, plaintext = token

    credential = authenticate_bearer(str(organization.public_id), plaintext)

    assert credential.organization == organization
    assert (credential.kind, credential.public_id, credential.token) == (
        "secret_token",
        row.display_prefix,
        row,
    )
    assert credential.expires_at == row.expires_at


def test_a_token_is_no_credential_at_another_organizations_tenant(token, other_organization):
    assert authenticate_bearer(str(other_organization.public_id), token[1]) is None


@pytest.mark.parametrize("variant", [str.upper, lambda tenant: tenant.replace("-", "")])
def test_a_variant_of_the_tenant_id_authenticates_nothing(organization, token, variant):
    assert authenticate_bearer(variant(str(organization.public_id)), token[1]) is None


def test_a_revoked_token_is_no_credential(organization, token):
    revoke_token(token[0], actor=None)

    assert authenticate_bearer(str(organization.public_id), token[1]) is None


def test_a_token_of_no_known_kind_is_refused_without_a_lookup(
    organization, django_assert_num_queries
):
    with django_assert_num_queries(0):
        assert authenticate_bearer(str(organization.public_id), "eyJhbGciOi.x.y") is None


def test_the_right_key_with_the_wrong_secret_is_no_credential(organization, token):
    row, _ = token
    forged = factories.forged_token_for(row.key)

    assert authenticate_bearer(str(organization.public_id), forged) is None


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("Bearer abc", "abc"),
        ("bearer  abc ", "abc"),
        ("BEARER abc", "abc"),
        ("Basic abc", None),
        ("Bearer ", None),
        ("", None),
        ("abc", None),
    ],
)
def test_the_bearer_header_is_read_in_one_place(header, expected):
    request = RequestFactory().get("/", HTTP_AUTHORIZATION=header)

    assert bearer_token(request) == expected
