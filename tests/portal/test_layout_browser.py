"""Every portal page fits the screen, at a phone's 390 px and a laptop's 1280 px.

Chromium (Debian's, through Playwright) loads each page of a realistic organization (the demo
Azure cycle, replayed through the SCIM endpoint) and checks that the document is no wider than
the viewport: the header wraps and wide tables scroll inside their own box.
Set ``SCREENSHOT_DIR`` to keep a full-page screenshot of each page.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model

from demo.replay import replay_initial_cycle
from directory.services import add_endpoint, disable_endpoint
from oauth import services as oauth_services
from organizations.services import issue_token
from portal.models import PortalRole, SyncEvent
from portal.services import set_memberships
from scim.models import ScimGroup, ScimUser
from tests import factories

from .conftest import PASSWORD, make_tenant_admin

WIDTHS = [390, 1280]
OVERFLOW = "document.documentElement.scrollWidth - window.innerWidth"
RIGHT_EDGE = "selector => document.querySelector(selector).getBoundingClientRect().right"
NAVIGATION_STATUS = "() => performance.getEntriesByType('navigation')[0].responseStatus"
EXPECTED_STATUS = {"not-found": 404, "forbidden": 403}


@pytest.fixture
def demo_organization(transactional_db, settings, organization, other_organization):
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "provisioning.kno2.test"]
    _, plaintext = issue_token(organization, actor=None)
    replay_initial_cycle(organization, plaintext)
    add_endpoint(
        organization,
        url="https://hooks.demo-clinic.example/kno2/directory-events/receiver?tenant=riverside-0001",
        description="Directory sync into the clinic's HR system",
        actor=None,
    )
    switched_off, _ = add_endpoint(
        organization, url="https://siem.demo-clinic.example/in", actor=None
    )
    disable_endpoint(switched_off, actor=None)
    factories.make_oauth_client(organization)
    oauth_services.configure_workload_identity(
        organization,
        issuer=f"https://login.microsoftonline.com/{organization.sso_tenant_id}/v2.0",
        subject="5d3e0c3a-0000-4c6e-9b1a-5f1e2d3c4b5a",
        audience="api://kno2-scim",
        jwks_url="",
        actor=None,
    )
    admin = make_tenant_admin(organization)
    set_memberships(
        admin,
        [organization, other_organization],
        actor=None,
        roles={organization.pk: PortalRole.ADMIN},
    )
    return organization


def _portal_pages(organization, other_organization) -> dict[str, str]:
    slug = organization.slug
    client, federation = organization.oauth_clients.order_by("pk")
    failure = (
        SyncEvent.objects.filter(organization=organization, succeeded=False, status_code=400)
        .order_by("id")
        .first()
    )
    members = SyncEvent.objects.filter(
        organization=organization, operation="update_members"
    ).first()
    active = ScimUser.objects.filter(organization=organization, active=True).first()
    deactivated = ScimUser.objects.filter(organization=organization, active=False).first()
    group = ScimGroup.objects.filter(organization=organization).first()
    endpoint = organization.webhook_endpoints.get(is_enabled=True)
    return {
        "organizations": "/portal/",
        "dashboard": f"/portal/o/{slug}/",
        "history": f"/portal/o/{slug}/events/",
        "failures": f"/portal/o/{slug}/events/?outcome=failure",
        "failure": f"/portal/o/{slug}/events/{failure.pk}/",
        "membership-change": f"/portal/o/{slug}/events/{members.pk}/",
        "users": f"/portal/o/{slug}/users/",
        "groups": f"/portal/o/{slug}/groups/",
        "user": f"/portal/o/{slug}/users/{active.scim_id}/",
        "deactivated-user": f"/portal/o/{slug}/users/{deactivated.scim_id}/",
        "never-sent": f"/portal/o/{slug}/find/?q=someone.else%40demo-clinic.example",
        "group": f"/portal/o/{slug}/groups/{group.scim_id}/",
        "members": f"/portal/o/{slug}/members/",
        "provisioning": f"/portal/o/{slug}/provisioning/",
        "secret-token": f"/portal/o/{slug}/provisioning/tokens/{organization.tokens.first().pk}/",
        "webhooks": f"/portal/o/{slug}/webhooks/",
        "webhook": f"/portal/o/{slug}/webhooks/{endpoint.pk}/",
        "oauth-client": f"/portal/o/{slug}/provisioning/clients/{client.pk}/",
        "workload-identity": f"/portal/o/{slug}/provisioning/clients/{federation.pk}/",
        "not-found": f"/portal/o/{slug}/events/999999999/",
        # A viewer there: the admin-only page is the portal's 403.
        "forbidden": f"/portal/o/{other_organization.slug}/provisioning/",
    }


def _overflows(page, url: str, name: str, width: int) -> int:
    page.goto(url)
    overflow = page.evaluate(OVERFLOW)
    folder = os.environ.get("SCREENSHOT_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=f"{folder}/{name}-{width}.png", full_page=True)
    return overflow


def _sign_in(page, base: str, username: str, password: str, login_path: str) -> None:
    page.goto(f"{base}{login_path}")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    if login_path.startswith("/admin/"):
        page.fill("#id_otp_token", factories.totp_code(username))
        page.click("input[type=submit][value='Log in']")
    else:
        page.click("[type=submit]")
    page.wait_for_load_state()


@pytest.mark.browser
@pytest.mark.parametrize("width", WIDTHS)
def test_no_portal_page_is_wider_than_the_screen(
    browser, live_server, demo_organization, other_organization, width
):
    context = browser.new_context(viewport={"width": width, "height": 800})
    page = context.new_page()
    try:
        too_wide = {}
        overflow = _overflows(page, f"{live_server.url}/portal/login/", "login", width)
        if overflow > 0:
            too_wide["login"] = overflow
        overflow = _overflows(
            page, f"{live_server.url}/portal/set-password/MQ/expired-link/", "set-password", width
        )
        if overflow > 0:
            too_wide["set-password"] = overflow
        overflow = _overflows(
            page, f"{live_server.url}/portal/invitation/k2i_expired/", "invitation", width
        )
        if overflow > 0:
            too_wide["invitation"] = overflow
        _sign_in(page, live_server.url, "alice.admin", PASSWORD, "/portal/login/")
        pages = _portal_pages(demo_organization, other_organization)
        statuses = {}
        for name, path in pages.items():
            overflow = _overflows(page, f"{live_server.url}{path}", name, width)
            statuses[name] = page.evaluate(NAVIGATION_STATUS)
            if overflow > 0:
                too_wide[name] = overflow
        # The endpoint's page as it shows a new signing secret, once.
        page.goto(f"{live_server.url}{pages['webhook']}")
        page.click("button:text-is('Rotate signing secret')")
        page.wait_for_selector("#signing-secret")
        overflow = max(
            page.evaluate(OVERFLOW),
            # The secret and its Copy button in view, not scrolled off in a box of their own.
            page.evaluate(RIGHT_EDGE, "[data-copy=signing-secret]") - width,
        )
        if overflow > 0:
            too_wide["webhook-secret"] = overflow
    finally:
        context.close()

    assert too_wide == {}, f"pages wider than {width} px (by px): {too_wide}"
    # Each page measured is the page meant, not an error page in its place.
    assert statuses == {name: EXPECTED_STATUS.get(name, 200) for name in pages}


@pytest.mark.browser
def test_admin_list_pages_fit_a_1280_px_screen(browser, live_server, demo_organization):
    staff = factories.make_staff("layout.staff")
    get_user_model().objects.filter(pk=staff.pk).update(is_superuser=True)
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    try:
        _sign_in(page, live_server.url, "layout.staff", "staff-password-1", "/admin/login/")
        too_wide = {}
        for name, path in {
            "admin-index": "/admin/",
            "admin-organizations": "/admin/organizations/organization/",
            "admin-organization": (
                f"/admin/organizations/organization/{demo_organization.pk}/change/"
            ),
            "admin-tokens": "/admin/organizations/provisioningtoken/",
            "admin-events": "/admin/portal/syncevent/",
            "admin-health": "/admin/portal/organizationhealth/",
            "admin-audit": "/admin/organizations/auditrecord/",
        }.items():
            overflow = _overflows(page, f"{live_server.url}{path}", name, 1280)
            if overflow > 0:
                too_wide[name] = overflow
    finally:
        context.close()

    assert too_wide == {}, f"admin pages wider than 1280 px (by px): {too_wide}"


@pytest.mark.browser
def test_the_skip_link_is_the_first_thing_a_keyboard_reaches(page, live_server, demo_organization):
    _sign_in(page, live_server.url, "alice.admin", PASSWORD, "/portal/login/")
    page.goto(f"{live_server.url}/portal/o/{demo_organization.slug}/")

    page.keyboard.press("Tab")

    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"


@pytest.mark.browser
def test_another_organizations_dashboard_is_a_404_even_to_a_signed_in_admin(
    browser, live_server, demo_organization
):
    outsider = factories.make_organization(name="Hillside Hospice", slug="hillside")
    context = browser.new_context(viewport={"width": 390, "height": 800})
    page = context.new_page()
    try:
        _sign_in(page, live_server.url, "alice.admin", PASSWORD, "/portal/login/")
        response = page.goto(f"{live_server.url}/portal/o/{outsider.slug}/")
        body = page.content()
    finally:
        context.close()

    assert response.status == 404
    assert "Hillside Hospice" not in body


OUTCOME_RIGHT_EDGES = """() => Array.from(document.querySelectorAll('table.events')).map(table => {
  const heads = Array.from(table.querySelectorAll('thead th'));
  const column = heads.findIndex(th => th.textContent.trim() === 'Outcome');
  const cells = [heads[column], ...Array.from(table.querySelectorAll('tbody tr'))
    .map(row => row.children[column]).filter(Boolean)];
  return Math.max(...cells.map(cell => cell.getBoundingClientRect().right));
})"""


@pytest.mark.browser
def test_the_outcome_column_of_every_event_table_is_in_view_on_a_phone(
    browser, live_server, demo_organization, other_organization
):
    pages = _portal_pages(demo_organization, other_organization)
    context = browser.new_context(viewport={"width": 390, "height": 800})
    page = context.new_page()
    try:
        _sign_in(page, live_server.url, "alice.admin", PASSWORD, "/portal/login/")
        out_of_view = {}
        for name in ("dashboard", "history", "failures", "user", "group"):
            page.goto(f"{live_server.url}{pages[name]}")
            edges = page.evaluate(OUTCOME_RIGHT_EDGES)
            assert edges, f"{name} has no event table"
            if max(edges) > 390:
                out_of_view[name] = max(edges)
    finally:
        context.close()

    assert out_of_view == {}, f"outcome column's right edge past 390 px: {out_of_view}"


SMALLEST_CHART_LABEL = """() => Math.min(...Array.from(document.querySelectorAll('svg.chart text'))
  .map(text => text.getScreenCTM().a * parseFloat(getComputedStyle(text).fontSize)))"""


@pytest.mark.browser
def test_chart_labels_are_at_least_11_px_high_on_a_phone(browser, live_server, demo_organization):
    context = browser.new_context(viewport={"width": 390, "height": 800})
    page = context.new_page()
    try:
        _sign_in(page, live_server.url, "alice.admin", PASSWORD, "/portal/login/")
        page.goto(f"{live_server.url}/portal/o/{demo_organization.slug}/")
        smallest = page.evaluate(SMALLEST_CHART_LABEL)
        overflow = page.evaluate(OVERFLOW)
    finally:
        context.close()

    assert smallest >= 11
    assert overflow <= 0
