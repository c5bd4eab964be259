from __future__ import annotations

import pytest

from organizations.models import Organization
from scim import services as scim_services
from scim.models import ScimGroup, ScimUser
from sso import services
from tests import factories
from tests.conftest import free_port, launch_gunicorn

from .idp import TestIdp


@pytest.fixture(autouse=True)
def _loopback_metadata(settings):
    settings.OUTBOUND_ALLOW_LOOPBACK = True


@pytest.fixture(scope="module")
def sso_server(django_db_setup, tmp_path_factory):
    """gunicorn whose PUBLIC_BASE_URL is its own loopback address, so the IdP posts back to it."""
    port = free_port()
    server = launch_gunicorn(
        tmp_path_factory.mktemp("sso-gunicorn"),
        port=port,
        PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
        ALLOWED_HOSTS="127.0.0.1",
    )
    yield server
    server.stop()


@pytest.fixture(scope="module")
def idp(tmp_path_factory):
    """One Entra-like IdP per module, for tenant A (the ``organization`` fixture's tenant)."""
    server = TestIdp(tmp_path_factory.mktemp("idp"), factories.TENANT_A).start()
    yield server
    server.stop()


def provision_user(
    organization: Organization,
    user_name: str,
    *,
    active: bool = True,
    groups: tuple[ScimGroup, ...] = (),
) -> ScimUser:
    user = scim_services.create_user(
        organization,
        {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": user_name,
            "active": active,
            "emails": [{"value": user_name, "type": "work", "primary": True}],
        },
    )
    for group in groups:
        scim_services.patch_group(
            group,
            [
                {"op": "add", "path": "members", "value": [{"value": str(user.scim_id)}]},
            ],
        )
    return user


def provision_group(organization: Organization, display_name: str) -> ScimGroup:
    group, _ = scim_services.create_group(
        organization,
        {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": display_name,
        },
    )
    return group


@pytest.fixture
def admins_group(organization) -> ScimGroup:
    return provision_group(organization, "Kno2 Admins")


@pytest.fixture
def jordan(organization, admins_group) -> ScimUser:
    return provision_user(organization, "jordan@contoso.com", groups=(admins_group,))


@pytest.fixture
def sso(organization, idp, admins_group):
    """SSO configured for ``organization`` from the IdP's metadata URL, for Kno2 Admins."""
    return services.configure_sso(
        organization,
        portal_groups=["Kno2 Admins"],
        actor=None,
        metadata_url=idp.metadata_url,
    )
