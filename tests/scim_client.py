"""The one SCIM client of the tests: Django's test client in process, or real HTTP to gunicorn.

Every request carries the bearer token and, when it has a body, ``application/scim+json``
(RFC 7644 §3.1, §8.1), as Microsoft Entra ID sends them. Both transports answer with objects
that share what the assertions read: ``status_code``, ``headers``, ``content``, ``text`` and
``json()``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import requests
from django.test import Client

from organizations.models import Organization

from .schemas import ERROR, GROUP, LIST_RESPONSE, PATCH_OP, SCIM_JSON, USER

TIMEOUT = 30
# RFC 7644 §3.12, Table 9: the only scimType values a 400 may carry.
SCIM_TYPES_400 = {
    "invalidFilter",
    "tooMany",
    "uniqueness",
    "mutability",
    "invalidSyntax",
    "invalidPath",
    "noTarget",
    "invalidValue",
    "invalidVers",
    "sensitive",
}


def _header_name(meta_key: str) -> str:
    """``HTTP_X_REQUEST_ID`` (a Django test client keyword) as ``X-Request-Id``."""
    return "-".join(part.capitalize() for part in meta_key.removeprefix("HTTP_").split("_"))


@dataclass
class ScimClient:
    """Requests to one tenant URL: ``base`` is a path (``/scim/v2/<id>``) for Django's test
    client, or a whole URL (``http://127.0.0.1:8123/scim/v2/<id>``) for a ``requests`` session."""

    base: str
    token: str | None
    transport: Client | requests.Session = field(default_factory=requests.Session)
    organization: Organization | None = None

    def __post_init__(self) -> None:
        if isinstance(self.transport, requests.Session) and self.token:
            # On the session, so tests that call ``session`` directly send it too.
            self.transport.headers["Authorization"] = f"Bearer {self.token}"

    @classmethod
    def in_process(
        cls, organization: Organization, token: str | None, client: Client | None = None
    ) -> ScimClient:
        return cls(f"/scim/v2/{organization.public_id}", token, client or Client(), organization)

    @classmethod
    def over_http(
        cls, tenant_url: str, token: str | None, organization: Organization | None = None
    ) -> ScimClient:
        return cls(tenant_url, token, requests.Session(), organization)

    @property
    def client(self) -> Client:
        """Django's test client, for the tests that call it directly."""
        assert isinstance(self.transport, Client), "an in-process client"
        return self.transport

    @property
    def session(self) -> requests.Session:
        """The ``requests`` session, for the tests that call it directly."""
        assert isinstance(self.transport, requests.Session), "an HTTP client"
        return self.transport

    def url(self, path: str) -> str:
        return self.base + path

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        params: dict | None = None,
        headers: dict | None = None,
        raw: bytes | str | None = None,
        content_type: str = SCIM_JSON,
        **meta: str,
    ) -> Any:
        """Send ``body`` as SCIM JSON, or ``raw`` as it is. A header set to ``None`` is not sent
        (``{"Authorization": None}`` drops the token); Django-style ``HTTP_*`` keywords are
        headers too."""
        sent = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        sent.update({_header_name(key): value for key, value in meta.items()})
        sent.update(headers or {})
        data = raw if raw is not None else (None if body is None else json.dumps(body))
        if isinstance(self.transport, Client):
            sent = {name: value for name, value in sent.items() if value is not None}
            target = self.url(path) + (f"?{urlencode(params, doseq=True)}" if params else "")
            if data is None and method.upper() != "GET":
                data = ""
            if data is None:
                return self.transport.generic(method, target, headers=sent)
            return self.transport.generic(
                method, target, data, content_type=content_type, headers=sent
            )
        if data is not None:
            sent.setdefault("Content-Type", content_type)
        if isinstance(data, str):
            data = data.encode()
        return self.transport.request(
            method, self.url(path), params=params, data=data, headers=sent, timeout=TIMEOUT
        )

    def send(self, method: str, path: str, body: Any = None, **kwargs: Any) -> Any:
        return self.request(method, path, body, **kwargs)

    def get(self, path: str, params: dict | None = None, **kwargs: Any) -> Any:
        return self.request("GET", path, params=params, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> Any:
        return self.request("POST", path, body, **kwargs)

    def put(self, path: str, body: Any = None, **kwargs: Any) -> Any:
        return self.request("PUT", path, body, **kwargs)

    def patch(self, path: str, body: Any = None, **kwargs: Any) -> Any:
        return self.request("PATCH", path, body, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Any:
        return self.request("DELETE", path, **kwargs)

    def patch_ops(self, path: str, *operations: dict, **kwargs: Any) -> Any:
        return self.patch(path, {"schemas": [PATCH_OP], "Operations": list(operations)}, **kwargs)

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

    def read(self, path: str, **kwargs: Any) -> dict:
        """GET a resource that must exist and return its JSON."""
        response = self.get(path, **kwargs)
        assert response.status_code == 200, describe(response)
        assert_scim_json(response)
        return response.json()

    def search(self, resource: str, filter_: str, **params: str) -> list[dict]:
        """``GET /<resource>?filter=…`` and return the ``Resources`` of its ListResponse."""
        response = self.get(f"/{resource}", {**params, "filter": filter_})
        return assert_list_response(response).get("Resources", [])

    def member_ids(self, group_id: str) -> set[str]:
        group = self.read(f"/Groups/{group_id}")
        return {member["value"] for member in group.get("members", [])}

    def close(self) -> None:
        if isinstance(self.transport, requests.Session):
            self.transport.close()


def describe(response: Any) -> str:
    """The request and response, for assertion messages (either transport)."""
    request = getattr(response, "request", None)
    if isinstance(request, dict):  # Django's test client: the WSGI environ it built
        sent = f"{request.get('REQUEST_METHOD')} {request.get('PATH_INFO')}"
        query = request.get("QUERY_STRING")
        sent += f"?{query}" if query else ""
    elif request is not None:
        body = request.body or b""
        if isinstance(body, bytes):
            body = body[:500].decode(errors="replace")
        sent = f"{request.method} {request.url} {body[:500]!s}"
    else:
        sent = "?"
    return (
        f"{sent}\n-> {response.status_code} {response.headers.get('Content-Type')} "
        f"{response.text[:1000]}"
    )


def assert_scim_json(response: Any) -> None:
    """RFC 7644 §8.1: SCIM responses are ``application/scim+json`` (Microsoft G9)."""
    content_type = response.headers.get("Content-Type", "")
    assert content_type.split(";")[0].strip().lower() == SCIM_JSON, describe(response)


def assert_list_response(response: Any, status: int = 200) -> dict:
    """A ListResponse (RFC 7644 §3.4.2) with an integer ``totalResults`` matching its page."""
    assert response.status_code == status, describe(response)
    assert_scim_json(response)
    body = response.json()
    assert body["schemas"] == [LIST_RESPONSE], describe(response)
    assert isinstance(body["totalResults"], int), describe(response)
    assert len(body.get("Resources", [])) <= body["totalResults"], describe(response)
    return body


def assert_error(response: Any, status: int, scim_type: str | None = None) -> dict:
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


def assert_client_error(response: Any) -> dict:
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
