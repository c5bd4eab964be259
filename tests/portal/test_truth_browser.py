"""The portal tells the truth, as a new tenant admin sees it in chromium (issue 20).

The demo organization holds Azure's typical failures: a duplicate create (externalId
``maria.2``) refused with 409, and a group PATCH refused for a member id never provisioned.
"""

from __future__ import annotations

import pytest

from demo.replay import UNPROVISIONED_MEMBER_ID

from . import test_layout_browser
from .conftest import PASSWORD
from .test_layout_browser import _sign_in

# The layout tests' demo organization: the Azure initial cycle replayed through SCIM.
demo_organization = test_layout_browser.demo_organization


def _find(page, base: str, slug: str, text: str) -> str:
    page.goto(f"{base}/portal/o/{slug}/")
    page.fill("#find-user", text)
    page.press("#find-user", "Enter")
    page.wait_for_load_state()
    return page.locator('[data-testid="person-state"]').inner_text()


@pytest.mark.browser
@pytest.mark.parametrize(
    ("identifier", "state"),
    [
        ("maria.2", "Azure tried to create this user and was refused"),
        (UNPROVISIONED_MEMBER_ID, "Azure named this id in a request that was refused"),
    ],
)
def test_find_a_user_leads_every_identifier_of_a_refused_request_to_the_refusal(
    page, live_server, demo_organization, identifier, state
):
    _sign_in(page, live_server.url, "alice.admin", PASSWORD, "/portal/login/")

    shown = _find(page, live_server.url, demo_organization.slug, identifier)

    assert state in shown


@pytest.mark.browser
def test_the_dashboard_does_not_say_no_problems_while_a_create_is_refused(
    page, live_server, demo_organization
):
    _sign_in(page, live_server.url, "alice.admin", PASSWORD, "/portal/login/")
    page.goto(f"{live_server.url}/portal/o/{demo_organization.slug}/")

    level = page.locator('[data-testid="health-level"]').inner_text()
    body = page.locator("main").inner_text()

    assert level == "Warning"
    assert "No problems found" not in body
    assert "Maria" in body and "refused and not in Kno2fy" in body
