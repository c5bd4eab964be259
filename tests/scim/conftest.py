"""Fixtures for SCIM tests: a client bound to one organization's tenant URL and its token."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

from organizations.models import Organization
from scim import documents, services
from scim.models import ScimGroup, ScimUser
from tests import factories

SCIM_JSON = "application/scim+json"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


@dataclass
class ScimClient:
    """HTTP calls to one tenant URL, with the SCIM content type and a bearer token."""

    client: Client
    organization: Organization
    token: str | None

    @property
    def base(self) -> str:
        return f"/scim/v2/{self.organization.public_id}"

    def _headers(self, extra: dict) -> dict:
        headers = {"HTTP_AUTHORIZATION": f"Bearer {self.token}"} if self.token else {}
        headers.update(extra)
        return headers

    def get(self, path: str, params: dict | None = None, **extra: Any):
        return self.client.get(self.base + path, params or {}, **self._headers(extra))

    def send(self, method: str, path: str, body: Any = None, *, raw: str | None = None,
             content_type: str = SCIM_JSON, **extra: Any):
        if method.upper() == "GET":
            return self.get(path, **extra)
        data = raw if raw is not None else ("" if body is None else json.dumps(body))
        call = getattr(self.client, method.lower())
        return call(self.base + path, data, content_type=content_type, **self._headers(extra))

    def post(self, path: str, body: Any = None, **kwargs: Any):
        return self.send("POST", path, body, **kwargs)

    def put(self, path: str, body: Any = None, **kwargs: Any):
        return self.send("PUT", path, body, **kwargs)

    def patch(self, path: str, body: Any = None, **kwargs: Any):
        return self.send("PATCH", path, body, **kwargs)

    def patch_ops(self, path: str, *operations: dict, **kwargs: Any):
        return self.patch(path, {"schemas": [PATCH_OP], "Operations": list(operations)}, **kwargs)

    def delete(self, path: str, **kwargs: Any):
        return self.send("DELETE", path, None, **kwargs)


@pytest.fixture
def scim(organization, token) -> ScimClient:
    """A SCIM client for ``organization`` carrying its active token."""
    return ScimClient(Client(), organization, token[1])


@pytest.fixture
def other_scim(other_organization) -> ScimClient:
    """A SCIM client for ``other_organization`` carrying that organization's own token."""
    _, plaintext = factories.make_token(other_organization)
    return ScimClient(Client(), other_organization, plaintext)


def make_user(organization: Organization, user_name: str, **attributes: Any) -> ScimUser:
    """A user created through the service layer, as a SCIM POST would."""
    return services.create_user(
        organization, documents.clean_user({"userName": user_name, **attributes})
    )


def make_group(organization: Organization, display_name: str,
               members: list[ScimUser] = (), **attributes: Any) -> ScimGroup:
    document = documents.clean_group({
        "displayName": display_name,
        "members": [{"value": str(user.scim_id)} for user in members],
        **attributes,
    })
    group, _ = services.create_group(organization, document)
    return group


def bulk_users(organization: Organization, count: int, prefix: str = "user") -> list[ScimUser]:
    """``count`` users in one insert: setup for query-count tests, not a behaviour under test."""
    users = [ScimUser(organization=organization, user_name=f"{prefix}{n}@example.com",
                      work_email=f"{prefix}{n}@example.com",
                      attributes={"emails": [{"value": f"{prefix}{n}@example.com",
                                              "type": "work", "primary": True}]})
             for n in range(count)]
    ScimUser.objects.bulk_create(users, batch_size=500)
    return list(ScimUser.objects.filter(organization=organization, user_name__startswith=prefix))
