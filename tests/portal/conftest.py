from __future__ import annotations

import json
from datetime import datetime

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from core.credentials import AuthenticatedCredential
from organizations.models import Organization, ProvisioningToken
from portal import services
from portal.models import PortalMembership, PortalRole, SyncEvent
from scim.calls import Operation, ResourceType, ScimCall

PASSWORD = "tenant-admin-password-1"
STRONG = "Harbour-lights-1987-quiet"


def make_tenant_admin(organization: Organization, username: str = "alice.admin"):
    user = services.create_tenant_admin(
        username=username,
        email=f"{username}@clinic.example",
        organizations=[organization],
        actor=None,
    )
    user.set_password(PASSWORD)
    user.save()
    return user


@pytest.fixture
def tenant_admin(organization):
    return make_tenant_admin(organization)


@pytest.fixture
def tenant_client(tenant_admin) -> Client:
    client = Client()
    client.force_login(tenant_admin)
    return client


def portal_member(organization: Organization, username: str, role: str):
    """A person with ``role`` in ``organization``'s portal, and a client signed in as them."""
    user = get_user_model().objects.create_user(
        username=username, email=f"{username}@clinic.example", password=STRONG
    )
    PortalMembership.objects.create(user=user, organization=organization, role=role)
    client = Client()
    client.force_login(user)
    return user, client


@pytest.fixture
def customer_admin(organization):
    return portal_member(organization, "ada", PortalRole.ADMIN)


@pytest.fixture
def viewer(organization):
    return portal_member(organization, "vic", PortalRole.VIEWER)


def make_call(
    organization: Organization,
    *,
    at: datetime | None = None,
    operation: str = Operation.CREATE_USER,
    status_code: int = 201,
    subject: str = "ann@x.test",
    resource_type: str = "User",
    resource_id: str = "",
    error_type: str = "",
    token: ProvisioningToken | None = None,
    **overrides,
) -> ScimCall:
    """A completed, authenticated SCIM call record, as the SCIM layer hands it to the history."""
    credential = AuthenticatedCredential(
        organization=organization,
        kind="secret_token",
        public_id=token.display_prefix if token is not None else "k2p_testtesttest…",
        expires_at=None,
        token=token,
    )
    call = ScimCall(
        request_id="test-request-id",
        method="POST",
        path=f"/scim/v2/{organization.public_id}/Users",
        tenant=organization.public_id,
        operation=Operation(operation),
        resource_type=ResourceType(resource_type),
        started_at=at or timezone.now(),
        credential=credential,
        resource_id=resource_id,
        display_name=subject,
        status_code=status_code,
        scim_type=error_type,
        duration_ms=1.5,
    )
    for name, value in overrides.items():
        assert hasattr(call, name), name
        setattr(call, name, value)
    return call


def record(organization: Organization, **call) -> SyncEvent:
    """Record an authenticated call straight through the service, as the middleware would
    (``make_call`` takes the arguments)."""
    return services.record_sync_event(make_call(organization, **call))


class FakeScim:
    """Sends requests to the stand-in SCIM endpoint of ``fake_scim_urls``."""

    def __init__(self, organization: Organization, plaintext: str) -> None:
        self.organization = organization
        self.plaintext = plaintext
        self.client = Client(raise_request_exception=False)

    def send(
        self,
        method: str,
        resource: str,
        spec: dict | None = None,
        *,
        token: str | None = None,
        query: str = "",
        request_id: str = "",
    ):
        url = f"/scim/v2/{self.organization.public_id}/{resource}{query}"
        headers = {"Authorization": f"Bearer {token or self.plaintext}"}
        if request_id:
            headers["X-Request-ID"] = request_id
        return self.client.generic(
            method,
            url,
            json.dumps(spec or {}),
            content_type="application/scim+json",
            headers=headers,
        )


@pytest.fixture
def fake_scim(organization, token) -> FakeScim:
    return FakeScim(organization, token[1])
