"""A thin SCIM client over real HTTP, shaped like the requests Microsoft Entra ID sends.

Every request carries the bearer token and, when it has a body, ``application/scim+json``.
Assertion helpers check what a SCIM client relies on: the status, the content type
(RFC 7644 §8.1), the message schemas and, for errors, the RFC 7644 §3.12 body.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import requests

SCIM_JSON = "application/scim+json"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"

# RFC 7644 §3.12, Table 9: the only scimType values a 400 may carry.
SCIM_TYPES_400 = {
    "invalidFilter", "tooMany", "uniqueness", "mutability", "invalidSyntax", "invalidPath",
    "noTarget", "invalidValue", "invalidVers", "sensitive",
}
TIMEOUT = 30


@dataclass
class ScimClient:
    """Requests against one tenant URL, e.g. ``http://127.0.0.1:8123/scim/v2/<public_id>``."""

    base: str
    token: str
    session: requests.Session = field(default_factory=requests.Session)

    def __post_init__(self) -> None:
        self.session.headers["Authorization"] = f"Bearer {self.token}"

    def url(self, path: str) -> str:
        return self.base + path

    def request(
        self, method: str, path: str, body: Any = None, *, headers: dict | None = None,
        raw: bytes | str | None = None,
    ) -> requests.Response:
        """Send ``body`` as SCIM JSON, or ``raw`` bytes as they are."""
        sent_headers = dict(headers or {})
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
        if data is not None:
            sent_headers.setdefault("Content-Type", SCIM_JSON)
        return self.session.request(
            method, self.url(path), data=data, headers=sent_headers, timeout=TIMEOUT
        )

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs) -> requests.Response:
        return self.request("POST", path, body, **kwargs)

    def put(self, path: str, body: Any = None, **kwargs) -> requests.Response:
        return self.request("PUT", path, body, **kwargs)

    def patch(self, path: str, body: Any = None, **kwargs) -> requests.Response:
        return self.request("PATCH", path, body, **kwargs)

    def delete(self, path: str, **kwargs) -> requests.Response:
        return self.request("DELETE", path, **kwargs)

    # Shortcuts for the setup steps most tests share ---------------------------------------

    def create_user(self, user_name: str, **attributes: Any) -> dict:
        body = {"schemas": [USER], "userName": user_name, "active": True, **attributes}
        response = self.post("/Users", body)
        assert response.status_code == 201, describe(response)
        return response.json()

    def create_group(self, display_name: str, **attributes: Any) -> dict:
        body = {"schemas": [GROUP], "displayName": display_name, **attributes}
        response = self.post("/Groups", body)
        assert response.status_code == 201, describe(response)
        return response.json()

    def read(self, path: str, **kwargs) -> dict:
        """GET a resource that must exist and return its JSON."""
        response = self.get(path, **kwargs)
        assert response.status_code == 200, describe(response)
        assert_scim_json(response)
        return response.json()

    def search(self, resource: str, filter_: str, **params: str) -> list[dict]:
        """``GET /<resource>?filter=…`` and return the ``Resources`` of its ListResponse."""
        response = self.session.get(
            self.url(f"/{resource}"), params={**params, "filter": filter_}, timeout=TIMEOUT
        )
        body = assert_list_response(response)
        return body.get("Resources", [])

    def patch_ops(self, path: str, *operations: dict, **kwargs) -> requests.Response:
        return self.patch(path, {"schemas": [PATCH_OP], "Operations": list(operations)}, **kwargs)

    def member_ids(self, group_id: str) -> set[str]:
        group = self.read(f"/Groups/{group_id}")
        return {member["value"] for member in group.get("members", [])}


def describe(response: requests.Response) -> str:
    """The request and response, for assertion messages."""
    request = response.request
    body = request.body or b""
    if isinstance(body, bytes):
        body = body[:500].decode(errors="replace")
    return (
        f"{request.method} {request.url} {body[:500]!s}\n"
        f"-> {response.status_code} {response.headers.get('Content-Type')} {response.text[:1000]}"
    )


def assert_scim_json(response: requests.Response) -> None:
    """RFC 7644 §8.1: SCIM responses are ``application/scim+json`` (Microsoft G9)."""
    content_type = response.headers.get("Content-Type", "")
    assert content_type.split(";")[0].strip().lower() == SCIM_JSON, describe(response)


def assert_list_response(response: requests.Response, status: int = 200) -> dict:
    """A ListResponse (RFC 7644 §3.4.2) with an integer ``totalResults`` matching its page."""
    assert response.status_code == status, describe(response)
    assert_scim_json(response)
    body = response.json()
    assert body["schemas"] == [LIST_RESPONSE], describe(response)
    assert isinstance(body["totalResults"], int), describe(response)
    assert len(body.get("Resources", [])) <= body["totalResults"], describe(response)
    return body


def assert_error(
    response: requests.Response, status: int, scim_type: str | None = None
) -> dict:
    """An RFC 7644 §3.12 error: that status, the Error schema, ``status`` as a JSON string."""
    assert response.status_code == status, describe(response)
    assert_scim_json(response)
    body = response.json()
    assert body["schemas"] == [ERROR], describe(response)
    assert body["status"] == str(status), describe(response)
    if scim_type is not None:
        assert body.get("scimType") == scim_type, describe(response)
    elif status == 400 and "scimType" in body:
        assert body["scimType"] in SCIM_TYPES_400, describe(response)
    return body


def assert_client_error(response: requests.Response) -> dict:
    """Any 4xx answered with a SCIM error body: what bad input must get, never a 5xx."""
    assert 400 <= response.status_code < 500, describe(response)
    return assert_error(response, response.status_code)


def assert_no_nulls(value: Any, where: str = "") -> None:
    """Unassigned attributes are omitted, not sent as ``null`` (RFC 7643 §2.5; Microsoft
    rejects null values in /Schemas)."""
    if isinstance(value, dict):
        for key, item in value.items():
            assert item is not None, f"{where}.{key} is null"
            assert_no_nulls(item, f"{where}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            assert item is not None, f"{where}[{index}] is null"
            assert_no_nulls(item, f"{where}[{index}]")
