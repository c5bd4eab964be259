"""Set-password links: created only by an audited staff action, once, before a password exists."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from organizations.models import AuditRecord
from portal import services
from portal.models import SetPasswordLink
from staffauth import mfa as staff_mfa
from tests.factories import sign_in, staff_sign_in

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-long-new-password-1"


@pytest.fixture
def new_admin(organization):
    return services.create_tenant_admin(
        username="new.admin", email="n@x.test", organizations=[organization], actor=None
    )


def _staff(*permissions: str):
    user = get_user_model().objects.create_user(
        username=f"staff-{'-'.join(permissions)}", password="staff-password-1", is_staff=True
    )
    user.user_permissions.set(Permission.objects.filter(codename__in=permissions))
    staff_mfa.enrol_totp(user)  # the admin requires a second factor
    return user, staff_sign_in(Client(), user)


def _run_action(client, user):
    return client.post(
        reverse("admin:portal_tenantadmin_changelist"),
        {
            "action": "create_set_password_links",
            "_selected_action": [str(user.pk)],
        },
    )


def _set_password(url: str, password: str = NEW_PASSWORD):
    client = Client()
    opened = client.get(url.removeprefix("https://provisioning.kno2.test"), follow=True)
    if opened.status_code != 200:
        return opened
    return client.post(
        reverse("portal:set_password_form"),
        {
            "new_password1": password,
            "new_password2": password,
        },
        follow=True,
    )


def test_viewing_a_tenant_admin_creates_and_shows_no_link(staff_user, new_admin):
    client = staff_sign_in(Client(), staff_user)

    page = client.get(reverse("admin:portal_tenantadmin_change", args=[new_admin.pk]))

    assert page.status_code == 200
    assert "/portal/set-password/" not in page.text
    assert not SetPasswordLink.objects.exists()


def test_staff_with_change_permission_create_an_audited_link_shown_once(new_admin, organization):
    staff, client = _staff("view_tenantadmin", "change_tenantadmin")

    response = _run_action(client, new_admin)

    link = SetPasswordLink.objects.get()
    url = response.context["links"][0][1]
    assert "no-store" in response["Cache-Control"]
    assert url in response.text and f"/portal/set-password/k2s_{link.key}_" in url
    assert url.rsplit("/", 2)[1] not in repr(SetPasswordLink.objects.values().get())
    audit = AuditRecord.objects.get(action="set_password_link_created")
    assert (audit.organization, audit.actor, audit.detail["tenant_admin"]) == (
        organization,
        staff,
        "new.admin",
    )
    page = client.get(reverse("admin:portal_tenantadmin_change", args=[new_admin.pk]))
    assert url not in page.text


def test_staff_who_can_only_view_tenant_admins_cannot_create_a_link(new_admin):
    _, client = _staff("view_tenantadmin")

    response = _run_action(client, new_admin)

    assert "/portal/set-password/" not in response.text
    assert not SetPasswordLink.objects.exists()


def test_a_link_sets_the_first_password_and_works_only_once(new_admin):
    _, url = services.create_set_password_link(new_admin, actor=None)

    done = _set_password(url)
    again = _set_password(url, "another-long-password-2")

    assert done.redirect_chain[-1][0] == reverse("portal:set_password_done")
    assert sign_in(Client(), reverse("portal:login"), "new.admin", NEW_PASSWORD)
    assert again.status_code == 404
    assert not sign_in(Client(), reverse("portal:login"), "new.admin", "another-long-password-2")


def test_a_link_stops_working_once_the_account_has_a_password(new_admin):
    _, url = services.create_set_password_link(new_admin, actor=None)
    new_admin.set_password("set-some-other-way-1")
    new_admin.save()

    assert _set_password(url).status_code == 404
    assert sign_in(Client(), reverse("portal:login"), "new.admin", "set-some-other-way-1")


def test_no_link_is_created_for_an_account_that_has_a_password(new_admin):
    new_admin.set_password("already-set-password-1")
    new_admin.save()

    with pytest.raises(services.SetPasswordLinkRefused):
        services.create_set_password_link(new_admin, actor=None)
    assert not SetPasswordLink.objects.exists()


def test_no_link_is_created_for_an_account_made_by_single_sign_on(organization):
    sso_account = services.create_tenant_admin(
        username="sso-6f1c2a9e-0000-4000-8000-000000000001",
        email="s@x.test",
        organizations=[organization],
        actor=None,
    )

    with pytest.raises(services.SetPasswordLinkRefused, match="identity provider"):
        services.create_set_password_link(sso_account, actor=None)
    assert not SetPasswordLink.objects.exists()


def test_a_link_expires(new_admin, settings):
    settings.PORTAL_SET_PASSWORD_LINK_HOURS = 72
    _, url = services.create_set_password_link(new_admin, actor=None)

    with time_machine.travel(timezone.now() + timedelta(hours=73)):
        assert _set_password(url).status_code == 404


def test_a_new_link_replaces_the_previous_one(new_admin):
    _, first = services.create_set_password_link(new_admin, actor=None)
    _, second = services.create_set_password_link(new_admin, actor=None)

    assert _set_password(first).status_code == 404
    assert _set_password(second).redirect_chain[-1][0] == reverse("portal:set_password_done")


def test_a_link_sets_only_its_own_accounts_password(new_admin, other_organization):
    other = services.create_tenant_admin(
        username="other.admin", email="o@x.test", organizations=[other_organization], actor=None
    )
    _, url = services.create_set_password_link(new_admin, actor=None)

    _set_password(url)

    other.refresh_from_db()
    assert not other.has_usable_password()
