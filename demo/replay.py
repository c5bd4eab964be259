"""A realistic demo history: Azure AD's initial provisioning cycle, replayed as real SCIM requests.

The quick start's demo organization would otherwise show an empty dashboard. Instead of writing
history rows by hand, ``replay_initial_cycle`` sends the requests Azure sends on a first cycle
(Test Connection, a lookup before every create, groups created empty then filled by PATCH, a
"Replace"/"False" deactivation) through Django's test client to the organization's own tenant
URL, so the SCIM layer answers them and the sync history records them exactly as it
records Azure. A few of the failures customers meet most are included: a create refused because
the same userName exists in another case, a create without a userName, a member PATCH naming a
user Azure never provisioned, and a stale token (refused, and only counted).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from django.conf import settings
from django.test import Client

from organizations.models import Organization

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"

DEMO_PEOPLE = [
    ("Maria", "Lopez", "Nurses"),
    ("James", "Okafor", "Physicians"),
    ("Priya", "Raman", "Nurses"),
    ("Tom", "Becker", "Front desk"),
    ("Aiko", "Tanaka", "Physicians"),
    ("Samuel", "Adeyemi", "Nurses"),
    ("Elena", "Novak", "Front desk"),
    ("David", "Cohen", "Physicians"),
]
DEMO_DOMAIN = "demo-clinic.example"
# An object id Azure holds for a user it never provisioned here (e.g. out of scope).
UNPROVISIONED_MEMBER_ID = "5f0c6a2e-9d1b-4c47-a0c3-1f6a7b8e9d01"


@dataclass
class Replay:
    requests: int = 0
    failures: int = 0


class _Azure:
    """Sends SCIM requests the way Azure's provisioning service does, to one tenant URL."""

    def __init__(self, organization: Organization, plaintext: str) -> None:
        base = urlsplit(settings.PUBLIC_BASE_URL)
        self.client = Client(raise_request_exception=False, headers={"host": base.netloc})
        self.secure = base.scheme == "https"
        self.base = f"/scim/v2/{organization.public_id}"
        self.plaintext = plaintext
        self.replay = Replay()

    def send(
        self, method: str, path: str, body: dict | None = None, *, token: str | None = None
    ) -> dict:
        response = self.client.generic(
            method,
            f"{self.base}{path}",
            json.dumps(body) if body is not None else "",
            content_type="application/scim+json",
            secure=self.secure,
            headers={"Authorization": f"Bearer {token or self.plaintext}"},
        )
        self.replay.requests += 1
        if response.status_code >= 400:
            self.replay.failures += 1
        try:
            return json.loads(response.content) if response.content else {}
        except ValueError:
            return {}

    def lookup(self, resource: str, attribute: str, value: str) -> dict:
        query = quote(f'{attribute} eq "{value}"')
        excluded = "&excludedAttributes=members" if resource == "Groups" else ""
        return self.send("GET", f"/{resource}?filter={query}{excluded}")


def _user(given: str, family: str) -> dict:
    user_name = f"{given}.{family}@{DEMO_DOMAIN}".lower()
    return {
        "schemas": [USER_SCHEMA, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "externalId": given.lower(),
        "userName": user_name,
        "active": True,
        "displayName": f"{given} {family}",
        "name": {"givenName": given, "familyName": family, "formatted": f"{given} {family}"},
        "emails": [{"primary": True, "type": "work", "value": user_name}],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Clinical"},
    }


def replay_initial_cycle(organization: Organization, plaintext: str) -> Replay:
    """Provision the demo directory into ``organization`` as Azure's first cycle would."""
    azure = _Azure(organization, plaintext)
    azure.lookup("Users", "userName", str(uuid.uuid4()))  # Test Connection

    user_ids: dict[str, list[str]] = {}
    for given, family, group in DEMO_PEOPLE:
        body = _user(given, family)
        azure.lookup("Users", "userName", body["userName"])
        created = azure.send("POST", "/Users", body)
        if created.get("id"):
            user_ids.setdefault(group, []).append(created["id"])

    # The same person assigned twice in Azure, once with a capitalised UPN: SCIM userNames
    # ignore case, so the second create is refused with 409 uniqueness.
    duplicate = _user("Maria", "Lopez")
    duplicate.update(userName=duplicate["userName"].title(), externalId="maria.2")
    azure.lookup("Users", "userName", duplicate["userName"])
    azure.send("POST", "/Users", duplicate)
    # An attribute mapping that sends an empty userName for a user without a UPN.
    azure.send(
        "POST", "/Users", {"schemas": [USER_SCHEMA], "externalId": "kiosk", "displayName": "Kiosk"}
    )

    for group in sorted(user_ids):
        azure.lookup("Groups", "displayName", group)
        created = azure.send(
            "POST",
            "/Groups",
            {"schemas": [GROUP_SCHEMA], "displayName": group, "externalId": group},
        )
        group_id = created.get("id")
        if not group_id:
            continue
        members = [{"value": member} for member in user_ids[group]]
        if group == "Front desk":
            # A member Azure never provisioned here: the whole PATCH is refused.
            members.append({"value": UNPROVISIONED_MEMBER_ID})
        azure.send(
            "PATCH",
            f"/Groups/{group_id}",
            {
                "schemas": [PATCH_SCHEMA],
                "Operations": [{"op": "Add", "path": "members", "value": members}],
            },
        )

    # Someone left: Azure deactivates with Replace active "False" (reference §3.4).
    leaver = user_ids.get("Physicians", [])[-1:]
    for user_id in leaver:
        azure.send(
            "PATCH",
            f"/Users/{user_id}",
            {
                "schemas": [PATCH_SCHEMA],
                "Operations": [{"op": "Replace", "path": "active", "value": "False"}],
            },
        )
    # An old token still configured in a second enterprise app.
    azure.send(
        "GET",
        "/Users?filter=" + quote('userName eq "old.app@demo-clinic.example"'),
        token="k2p_000000000000_" + "0" * 38,
    )
    return azure.replay
