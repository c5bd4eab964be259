"""External SCIM conformance suites, run against gunicorn serving the test database.

- ``scim2-tester`` (python-scim): discovery, CRUD, ``attributes``/``excludedAttributes`` and
  PATCH add/replace/remove on every attribute our /Schemas publishes, for every resource type
  our /ResourceTypes lists. It must report no failure at all.
- ``scim-sanity`` (CLI ``scim-sanity probe``): a CRUD lifecycle with fixed expectations. It
  fails where we take a choice RFC 7643/7644 leaves to the service provider; each such finding
  is listed in ``conformance_report.ALLOWED_SCIM_SANITY_FINDINGS`` with the section that
  allows it, and the test fails on any other finding or if one of these goes away (so the
  README list stays true).
"""

from __future__ import annotations

import pytest
from scim2_tester import Status

from tests.scim_client import assert_list_response

from .conformance_report import (
    ALLOWED_SCIM_SANITY_FINDINGS,
    run_scim2_tester,
    run_scim_sanity,
    scim_sanity_findings,
)
from .conftest import tenant_url

pytestmark = pytest.mark.django_db(transaction=True)


def test_scim2_tester_reports_no_failures(gunicorn_server, organization, token, other_scim):
    _, plaintext = token
    bystander = other_scim.create_user("bystander@lakeside.test", displayName="Bystander")

    results = run_scim2_tester(tenant_url(gunicorn_server, organization), plaintext)

    # The suite's creates, replaces and deletes never touched the other tenant.
    assert other_scim.read(f"/Users/{bystander['id']}") == bystander
    assert assert_list_response(other_scim.get("/Users"))["totalResults"] == 1

    failures = [
        f"{r.resource_type or '-'} {r.title}: {r.reason} {r.data!r}"[:2000]
        for r in results
        if r.status in (Status.ERROR, Status.CRITICAL)
    ]
    assert failures == []
    # It really ran: discovery and the whole CRUD and PATCH suite for both resource types.
    succeeded = {(r.resource_type, r.title) for r in results if r.status is Status.SUCCESS}
    for resource_type in ("User", "Group"):
        for title in (
            "object_creation",
            "object_query",
            "object_replacement",
            "object_deletion",
            "check_add_attribute",
            "check_replace_attribute",
            "check_remove_attribute",
        ):
            assert (resource_type, title) in succeeded, (resource_type, title)
    assert (None, "random_url") in succeeded
    # Only a search across all resource types at the server root is skipped: RFC 7644 §3.4.2
    # says queries MAY be performed against the root; we answer it with 501 (§3.12).
    skipped = {(r.resource_type, r.title) for r in results if r.status is Status.SKIPPED}
    assert skipped == {("User", "search_with_attributes"), ("Group", "search_with_attributes")}


def test_scim_sanity_fails_only_where_the_rfc_allows_it(
    gunicorn_server, organization, token, other_scim
):
    _, plaintext = token
    bystander = other_scim.create_group("Bystanders")

    report = run_scim_sanity(tenant_url(gunicorn_server, organization), plaintext)

    assert other_scim.read(f"/Groups/{bystander['id']}") == bystander

    assert scim_sanity_findings(report) == set(ALLOWED_SCIM_SANITY_FINDINGS), report["results"]
    skipped = {r["name"] for r in report["results"] if r["status"] == "skip"}
    # Only the draft agent extension, which we do not serve, is skipped.
    assert skipped == {
        "Agent CRUD Lifecycle",
        "AgenticApplication CRUD Lifecycle",
        "Agent Rapid Lifecycle",
    }
    assert report["summary"]["passed"] >= 25, report["summary"]
    assert report["summary"]["errors"] == 0, report["summary"]
