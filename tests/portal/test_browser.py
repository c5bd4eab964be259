"""End to end in Debian's chromium: a tenant admin finds out what Azure AD did and why."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from scim.calls import Operation

from .conftest import PASSWORD, record


@pytest.mark.browser
def test_a_tenant_admin_signs_in_reads_the_dashboard_filters_failures_and_exports(
    page, live_server, transactional_db, organization, token, tenant_admin
):
    now = timezone.now()
    record(
        organization, at=now - timedelta(hours=3), subject="ann@riverside.test", resource_id="u-ann"
    )
    record(
        organization,
        at=now - timedelta(minutes=10),
        subject="ann@riverside.test",
        resource_id="u-ann",
        operation=Operation.DEACTIVATE_USER,
        status_code=200,
        request_id="deactivate-ann-0001",
    )
    record(
        organization,
        at=now - timedelta(minutes=9),
        subject="bob@riverside.test",
        status_code=409,
        error_type="uniqueness",
        error_detail="userName is already taken in this organization.",
    )

    page.goto(f"{live_server.url}/portal/login/")
    page.fill("#id_username", tenant_admin.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")

    page.wait_for_url(f"**/portal/o/{organization.slug}/")
    assert page.locator("h1").inner_text() == organization.name
    assert page.locator("svg.chart rect.failed").count() >= 1
    assert page.locator("[data-testid=tenant-url]").inner_text() == organization.scim_base_url

    page.click("text=History")
    page.select_option("#id_outcome", "failure")
    page.click("#event-filters button[type=submit]")
    page.wait_for_url("**outcome=failure**")
    rows = page.locator("table.events tbody tr")
    assert rows.count() == 1
    assert "bob@riverside.test" in rows.first.inner_text()

    page.click("text=Clear")
    page.locator("table.events a", has_text="ann@riverside.test").first.click()
    page.wait_for_url("**/users/ann@riverside.test/")
    assert (
        "Why is this user deactivated?"
        in page.locator("[data-testid=why-deactivated]").inner_text()
    )
    assert "deactivate-ann-0001" in page.content()

    page.click("text=History")
    page.select_option("#id_outcome", "failure")
    page.click("#event-filters button[type=submit]")
    with page.expect_download() as download_info:
        page.click("[data-testid=export-csv]")
    exported = open(download_info.value.path(), encoding="utf-8").read()  # noqa: SIM115
    assert "bob@riverside.test" in exported
    assert "ann@riverside.test" not in exported
    assert token[1] not in exported
