"""Bearer authentication as Azure AD meets it over real HTTP (RFC 7644 §2).

Every refusal is a 401 with a SCIM error body and ``WWW-Authenticate: Bearer``, so Entra reports
a credential failure (and quarantines with ``EncounteredQuarantineException``) instead of
reading an empty directory; and a refused request changes nothing.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from organizations import services
from tests import factories
from tests.schemas import PATCH_OP, USER
from tests.scim_client import assert_error, assert_list_response

pytestmark = pytest.mark.django_db(transaction=True)


def assert_refused(response) -> None:
    assert_error(response, 401)
    assert response.headers["WWW-Authenticate"].lower().startswith("bearer")


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Basic YWRtaW46YWRtaW4=",
        "Bearer not-a-token",
        "Bearer k2p_abcdefghijkl.wrongsecret",
        "Token {token}",
        "Bearer {token}x",
        "Bearer {token} {token}",
    ],
)
def test_missing_or_malformed_credentials_are_refused(scim, authorization):
    user = scim.create_user("alice@riverside.test")
    headers = {
        "Authorization": None if authorization is None else authorization.format(token=scim.token)
    }

    for method, path, body in (
        ("GET", "/Users", None),
        ("GET", f"/Users/{user['id']}", None),
        ("POST", "/Users", {"schemas": [USER], "userName": "x@y.test"}),
        ("DELETE", f"/Users/{user['id']}", None),
        ("GET", "/ServiceProviderConfig", None),
    ):
        assert_refused(scim.request(method, path, body, headers=headers))

    assert assert_list_response(scim.get("/Users"))["totalResults"] == 1


def test_bearer_scheme_is_case_insensitive(scim):
    """RFC 7235 §2.1: the auth-scheme is case-insensitive."""
    response = scim.get("/Users", headers={"Authorization": f"bearer {scim.token}"})

    assert assert_list_response(response)["totalResults"] == 0


def test_the_right_key_with_a_valid_checksum_but_another_secret_is_refused(scim):
    scim.create_user("alice@riverside.test")
    forged = {"Authorization": f"Bearer {factories.same_key_wrong_secret(scim.token)}"}

    response = scim.get("/Users", headers=forged)

    assert_refused(response)
    assert "Resources" not in response.json()


def test_revoked_token_is_refused_at_once(scim, token):
    row, _ = token
    assert scim.get("/Users").status_code == 200

    services.revoke_token(row, actor=None)

    assert_refused(scim.get("/Users"))


def test_expired_token_is_refused(scim, token):
    row, _ = token
    row.expires_at = timezone.now() - timedelta(seconds=1)
    row.save(update_fields=["expires_at"])

    assert_refused(scim.get(f"/Users?filter=userName+eq+%22{row.key}%22"))


def test_disabled_provisioning_refuses_every_token(scim, organization):
    services.disable_provisioning_for(organization, actor=None)

    assert_refused(scim.get("/Users"))
    assert_refused(scim.post("/Users", {"schemas": [USER], "userName": "x@y.test"}))


def test_rotated_token_keeps_working_until_its_grace_ends(scim, token):
    row, _ = token
    _, new_plaintext = services.rotate_token(row, actor=None, grace_days=1)

    assert scim.get("/Users").status_code == 200
    response = scim.get("/Users", headers={"Authorization": f"Bearer {new_plaintext}"})
    assert response.status_code == 200
    row.refresh_from_db()
    row.expires_at = timezone.now() - timedelta(seconds=1)
    row.save(update_fields=["expires_at"])
    assert_refused(scim.get("/Users"))


def test_token_of_another_organization_never_reaches_data(scim, other_scim):
    mine = scim.create_user("alice@riverside.test")
    group = scim.create_group("Riverside")
    foreign = {"Authorization": f"Bearer {other_scim.token}"}

    for method, path, body in (
        ("GET", "/Users", None),
        ("GET", f"/Users/{mine['id']}", None),
        ("GET", f"/Groups/{group['id']}", None),
        (
            "PATCH",
            f"/Users/{mine['id']}",
            {
                "schemas": [PATCH_OP],
                "Operations": [{"op": "replace", "path": "active", "value": False}],
            },
        ),
        ("PUT", f"/Users/{mine['id']}", {"schemas": [USER], "userName": "hijacked@x.test"}),
        ("DELETE", f"/Users/{mine['id']}", None),
        ("DELETE", f"/Groups/{group['id']}", None),
        ("POST", "/Users", {"schemas": [USER], "userName": "planted@x.test"}),
    ):
        assert_refused(scim.request(method, path, body, headers=foreign))

    after = scim.read(f"/Users/{mine['id']}")
    assert (after["userName"], after["active"]) == ("alice@riverside.test", True)
    assert scim.read(f"/Groups/{group['id']}")["displayName"] == "Riverside"
    assert assert_list_response(scim.get("/Users"))["totalResults"] == 1
    assert assert_list_response(other_scim.get("/Users"))["totalResults"] == 0
