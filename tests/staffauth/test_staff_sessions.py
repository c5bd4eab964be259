"""Staff admin sessions end ``STAFF_SESSION_MAX_AGE_SECONDS`` after sign-in, and issuing or
showing a credential asks for the second factor again after ``STAFF_REVERIFY_SECONDS``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from core import reveal
from directory import services as directory_services
from organizations.models import ProvisioningToken
from portal import services as portal_services
from portal.models import SetPasswordLink
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client, staff_user):
    return factories.staff_sign_in(client, staff_user)


def _later(**delta: float):
    return time_machine.travel(datetime.now(UTC) + timedelta(**delta), tick=False)


def _issue_url(organization) -> str:
    return reverse("admin:organizations_organization_issue_token", args=[organization.pk])


def _issue(client, organization):
    return client.post(_issue_url(organization), {"label": "Azure AD", "expires_days": "365"})


def _signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_a_staff_session_ends_once_the_maximum_age_has_passed(staff_client, settings):
    with _later(seconds=settings.STAFF_SESSION_MAX_AGE_SECONDS + 60):
        answer = staff_client.get(reverse("admin:index"))
    assert answer.status_code == 302 and "/admin/login/" in answer["Location"]
    assert not _signed_in(staff_client)


def test_a_staff_session_lasts_until_the_maximum_age(staff_client, settings):
    with _later(seconds=settings.STAFF_SESSION_MAX_AGE_SECONDS - 60):
        answer = staff_client.get(reverse("admin:index"))
    assert answer.status_code == 200


def test_the_maximum_age_is_a_setting(staff_client, settings):
    settings.STAFF_SESSION_MAX_AGE_SECONDS = 3600
    with _later(minutes=61):
        staff_client.get(reverse("admin:index"))
    assert not _signed_in(staff_client)


def test_issuing_a_token_asks_for_the_second_factor_again_once_it_is_stale(
    staff_client, organization, settings
):
    with _later(seconds=settings.STAFF_REVERIFY_SECONDS + 60):
        answer = _issue(staff_client, organization)
    assert answer.status_code == 302
    assert answer["Location"].startswith(reverse("admin:staff_reverify"))
    assert not ProvisioningToken.objects.filter(label="Azure AD").exists()


def test_a_token_is_issued_without_asking_while_the_second_factor_is_fresh(
    staff_client, organization, settings
):
    with _later(seconds=settings.STAFF_REVERIFY_SECONDS - 60):
        answer = _issue(staff_client, organization)
    token = ProvisioningToken.objects.get(label="Azure AD")
    assert answer["Location"] == reverse(
        "admin:organizations_organization_issued_token", args=[organization.pk, token.pk]
    )


def test_after_verifying_again_staff_return_to_the_page_and_can_issue(
    staff_client, staff_user, organization, settings
):
    with _later(seconds=settings.STAFF_REVERIFY_SECONDS + 60):
        asked = _issue(staff_client, organization)
        verified = staff_client.post(
            asked["Location"], {"code": factories.totp_code(staff_user.username)}
        )
        issued = _issue(staff_client, organization)
    assert verified["Location"] == _issue_url(organization)
    assert ProvisioningToken.objects.filter(label="Azure AD").exists()
    assert issued.status_code == 302


def test_a_wrong_code_does_not_verify_again(staff_client, organization, settings):
    with _later(seconds=settings.STAFF_REVERIFY_SECONDS + 60):
        asked = _issue(staff_client, organization)
        wrong = staff_client.post(asked["Location"], {"code": "000000"})
        again = _issue(staff_client, organization)
    assert "That code is not right" in wrong.text
    assert again["Location"].startswith(reverse("admin:staff_reverify"))
    assert not ProvisioningToken.objects.filter(label="Azure AD").exists()


def test_a_waiting_webhook_secret_is_shown_only_after_verifying_again(
    staff_client, staff_user, organization, settings
):
    endpoint, secret = directory_services.add_endpoint(
        organization, url="https://hooks.kno2fy.example/in", actor=None
    )
    session = staff_client.session
    reveal.stash(session, "webhook-signing-secret", endpoint.pk, secret)
    session.save()
    page = reverse("admin:directory_webhookendpoint_secret", args=[endpoint.pk])
    with _later(seconds=settings.STAFF_REVERIFY_SECONDS + 60):
        asked = staff_client.get(page)
        staff_client.post(asked["Location"], {"code": factories.totp_code(staff_user.username)})
        shown = staff_client.get(page)
    assert secret not in asked.text
    assert shown.context["plaintext"] == secret


def test_rotating_a_webhook_secret_asks_for_the_second_factor_again_once_it_is_stale(
    staff_client, organization, settings
):
    endpoint, _ = directory_services.add_endpoint(
        organization, url="https://hooks.kno2fy.example/in", actor=None
    )
    with _later(seconds=settings.STAFF_REVERIFY_SECONDS + 60):
        answer = staff_client.post(
            reverse("admin:directory_webhookendpoint_changelist"),
            {"action": "rotate_secrets", "_selected_action": [str(endpoint.pk)]},
        )
    assert answer["Location"].startswith(reverse("admin:staff_reverify"))
    assert endpoint.secrets.count() == 1


def test_a_set_password_link_is_created_only_with_a_fresh_second_factor(
    staff_client, organization, settings
):
    tenant_admin = portal_services.create_tenant_admin(
        username="new.admin", email="n@x.test", organizations=[organization], actor=None
    )
    with _later(seconds=settings.STAFF_REVERIFY_SECONDS + 60):
        answer = staff_client.post(
            reverse("admin:portal_tenantadmin_changelist"),
            {"action": "create_set_password_links", "_selected_action": [str(tenant_admin.pk)]},
        )
    assert answer["Location"].startswith(reverse("admin:staff_reverify"))
    assert not SetPasswordLink.objects.exists()
