""" "SSO only" holds for password sessions too (issue 19 item 6): switching an organization to
SSO only ends its password sessions, a password session never sees an SSO-only organization,
and a person SCIM deactivates or deletes keeps no portal session of any kind."""

from __future__ import annotations

import pytest
from django.test import Client

from portal.models import PortalMembership
from sso import services
from tests import factories
from tests.scim_client import ScimClient

from .conftest import provision_user


def _password_admin(*organizations, email: str = "jordan@contoso.com"):
    user = factories.make_staff(password="tenant-password-1")
    user.is_staff = user.is_superuser = False
    user.email = email
    user.save()
    for organization in organizations:
        PortalMembership.objects.create(user=user, organization=organization)
    return user


def _signed_in(user) -> Client:
    client = Client()
    assert factories.sign_in(client, "/portal/login/", user.username, "tenant-password-1")
    return client


def _status(client: Client, organization) -> int:
    return client.get(f"/portal/o/{organization.slug}/").status_code


@pytest.fixture
def sso_with_passwords(sso):
    return services.set_password_sign_in(sso, True, actor=None)


def test_switching_an_organization_to_sso_only_ends_its_password_sessions(
    sso_with_passwords, organization
):
    client = _signed_in(_password_admin(organization))
    assert _status(client, organization) == 200
    services.set_password_sign_in(sso_with_passwords, False, actor=None)
    assert _status(client, organization) == 302
    assert "_auth_user_id" not in client.session


def test_a_password_session_never_sees_an_sso_only_organization(
    sso, organization, other_organization
):
    client = _signed_in(_password_admin(organization, other_organization))
    assert (_status(client, organization), _status(client, other_organization)) == (404, 200)


def test_a_password_session_lists_only_the_organizations_open_to_passwords(
    sso, organization, other_organization
):
    client = _signed_in(_password_admin(organization, other_organization))
    answer = client.get("/portal/")
    assert answer["Location"] == f"/portal/o/{other_organization.slug}/"


@pytest.fixture
def scim(organization):
    _, plaintext = factories.make_token(organization)
    return ScimClient.in_process(organization, plaintext)


def test_deactivating_the_person_through_scim_ends_their_password_session(
    sso_with_passwords, scim, organization
):
    person = provision_user(organization, "jordan@contoso.com")
    client = _signed_in(_password_admin(organization, email="Jordan@Contoso.com"))
    answer = scim.patch_ops(
        f"/Users/{person.scim_id}", {"op": "replace", "path": "active", "value": False}
    )
    assert answer.status_code == 200
    assert _status(client, organization) == 302


def test_deleting_the_person_through_scim_ends_their_password_session(
    sso_with_passwords, scim, organization
):
    person = provision_user(organization, "jordan@contoso.com")
    client = _signed_in(_password_admin(organization))
    assert scim.delete(f"/Users/{person.scim_id}").status_code == 204
    assert _status(client, organization) == 302


def test_deactivating_someone_else_leaves_the_password_session_open(
    sso_with_passwords, scim, organization
):
    other = provision_user(organization, "casey@contoso.com")
    provision_user(organization, "jordan@contoso.com")
    client = _signed_in(_password_admin(organization))
    scim.patch_ops(f"/Users/{other.scim_id}", {"op": "replace", "path": "active", "value": False})
    assert _status(client, organization) == 200
