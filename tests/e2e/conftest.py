"""Fixtures for end-to-end SCIM tests over real HTTP against ``gunicorn_server``.

Every test here is marked ``django_db(transaction=True)`` so the rows it creates are committed
and visible to gunicorn's own database connections.
"""

from __future__ import annotations

import pytest

from tests import factories
from tests.scim_client import ScimClient


def tenant_url(gunicorn_server, organization) -> str:
    return f"{gunicorn_server.url}/scim/v2/{organization.public_id}"


@pytest.fixture
def scim(gunicorn_server, organization, token) -> ScimClient:
    """A client of ``organization``'s tenant URL holding its token, as Azure AD would."""
    _, plaintext = token
    client = ScimClient.over_http(
        tenant_url(gunicorn_server, organization), plaintext, organization
    )
    yield client
    client.close()


@pytest.fixture
def other_scim(gunicorn_server, other_organization) -> ScimClient:
    """The same for ``other_organization``: the tenant that must never see ``scim``'s data."""
    _, plaintext = factories.make_token(other_organization)
    client = ScimClient.over_http(
        tenant_url(gunicorn_server, other_organization), plaintext, other_organization
    )
    yield client
    client.close()
