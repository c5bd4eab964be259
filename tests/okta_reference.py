"""The requests Okta's SCIM client sends, verbatim from Okta's SCIM 2.0 reference
(okta/okta-developer-docs ``docs/reference/scim/scim-20/index.md``): shared by the suites in
``tests/e2e/test_okta_suites.py`` and the Okta organization's end-to-end test."""

from __future__ import annotations

from tests.schemas import GROUP, USER

REFERENCE_HEADERS = {"User-Agent": "Okta SCIM Client 1.0.0"}

REFERENCE_CREATE_USER = {
    "schemas": [USER],
    "userName": "test.user@okta.local",
    "name": {"givenName": "Test", "familyName": "User"},
    "emails": [{"primary": True, "value": "test.user@okta.local", "type": "work"}],
    "displayName": "Test User",
    "locale": "en-US",
    "externalId": "00ujl29u0le5T6Aj10h7",
    "groups": [],
    "password": "1mz050nq",
    "active": True,
}
REFERENCE_CREATE_GROUP = {"schemas": [GROUP], "displayName": "Test SCIMv2", "members": []}
