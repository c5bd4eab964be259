"""Run scim2-tester and scim-sanity against a live tenant URL and print what they found.

Used by ``scripts/conformance.sh``; the pytest suite runs the same tools in
``test_conformance.py`` and asserts on their results.

    python -m tests.e2e.conformance_report <tenant URL> <token>

Exit status 0 when scim2-tester reports no failure and scim-sanity finds only the findings
``ALLOWED_SCIM_SANITY_FINDINGS`` lists (with the RFC section allowing each).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter

from httpx2 import Client
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server

FAILED = (Status.ERROR, Status.CRITICAL)

# Each entry: (test name, status, message) as scim-sanity 0.7.4 reports it -> why the RFC
# allows what we do. The README's conformance section copies this list.
GROUP_PATCH_204 = (
    "RFC 7644 §3.5.2: on success the server either returns 200 with the entire resource or "
    "MAY return 204 No Content. We answer group PATCH with 204 as Microsoft asks, since a body "
    "listing every member is not advisable for large groups (docs/azure-scim-client.md §1.2, "
    "§2.3.4-§2.3.6)."
)
ALLOWED_SCIM_SANITY_FINDINGS: dict[tuple[str, str, str], str] = {
    (
        "PATCH /Groups/{id}",
        "fail",
        "Expected HTTP 200, got 204 (RFC 7644 §3.3); Response body is empty",
    ): GROUP_PATCH_204,
    ("PATCH /Groups/{id} remove members", "fail", "Expected 200, got 204"): GROUP_PATCH_204,
    (
        "PATCH /Groups/{id} add member",
        "fail",
        "Expected 200, got 400",
    ): "The probe adds a member whose value is 'fake-member-id', which is no resource of this "
    "tenant. RFC 7643 §4.2 makes a member's value the id of a User or Group and §2.3.7 a "
    "reference to an existing resource; RFC 7644 §3.12 answers a value incompatible with the "
    "attribute with 400 invalidValue. Accepting it would store a dangling member, or (by "
    "resolving ids across tenants) leak another organization's users.",
}


def _normalise(name: str) -> str:
    """Cleanup results name the resource's id; findings are compared without it."""
    return re.sub(r"/(Users|Groups)/[^/\s]+$", r"/\1/{id}", name)


def scim_sanity_findings(report: dict) -> set[tuple[str, str, str]]:
    """Every result that is not a pass or a skip, as (name, status, message)."""
    return {
        (_normalise(r["name"]), r["status"], r.get("message", ""))
        for r in report["results"]
        if r["status"] in ("fail", "error", "warn")
    }


def run_scim2_tester(base_url: str, token: str) -> list:
    with Client(
        base_url=base_url, timeout=30, headers={"Authorization": f"Bearer {token}"}
    ) as http:
        return check_server(SyncSCIMClient(http))


def run_scim_sanity(base_url: str, token: str) -> dict:
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "scim_sanity",
            "probe",
            base_url,
            "--token",
            token,
            "--json-output",
            "--i-accept-side-effects",
            "--timeout",
            "30",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return json.loads(completed.stdout)


def main(base_url: str, token: str) -> int:
    results = run_scim2_tester(base_url, token)
    print("scim2-tester:", dict(Counter(r.status.name for r in results)))
    for result in results:
        if result.status in (*FAILED, Status.DEVIATION):
            print(
                f"  {result.status.name} {result.resource_type or '-'} {result.title}: "
                f"{result.reason}"
            )
            print(f"    {result.data!r}"[:1500])

    report = run_scim_sanity(base_url, token)
    print("scim-sanity:", report["summary"])
    findings = scim_sanity_findings(report)
    for finding in sorted(findings):
        reason = ALLOWED_SCIM_SANITY_FINDINGS.get(finding, "NOT ALLOWED")
        print(f"  {finding[1]} {finding[0]}: {finding[2]}\n    -> {reason}")

    failed = any(r.status in FAILED for r in results)
    return 1 if failed or findings != set(ALLOWED_SCIM_SANITY_FINDINGS) else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
