"""Token requests as Microsoft Entra ID sends them, over real HTTP.

See ``docs/azure-scim-client.md`` §4.1.
"""

from __future__ import annotations

import requests

from organizations.models import Organization

TIMEOUT = 30


def token_url(server, organization: Organization) -> str:
    return f"{server.url}/oauth/{organization.public_id}/token"


def request_token(
    server, organization: Organization, form: dict, *, basic: tuple[str, str] | None = None
) -> requests.Response:
    """POST ``form`` (form-urlencoded) to the organization's token endpoint."""
    return requests.post(token_url(server, organization), data=form, auth=basic, timeout=TIMEOUT)


def secret_basic(
    server, organization: Organization, client_id: str, secret: str
) -> requests.Response:
    """Entra's "How credentials are sent: Header" (``client_secret_basic``)."""
    return request_token(
        server, organization, {"grant_type": "client_credentials"}, basic=(client_id, secret)
    )


def secret_post(
    server, organization: Organization, client_id: str, secret: str
) -> requests.Response:
    """Entra's "How credentials are sent: Body" (``client_secret_post``)."""
    return request_token(
        server,
        organization,
        {
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": secret,
        },
    )


def assert_oauth_error(response: requests.Response, status: int, error: str) -> dict:
    """An RFC 6749 §5.2 error: status, JSON body with ``error``, never cached."""
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.headers["Cache-Control"] == "no-store"
    body = response.json()
    assert body["error"] == error, body
    if status == 401:
        assert response.headers["WWW-Authenticate"].startswith("Basic ")
    return body
