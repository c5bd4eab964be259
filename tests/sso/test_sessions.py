"""SSO portal sessions end when SCIM says so (issue 11 item 2), are bounded in time and tied to
their organization (item 3); password sign-in is the per-organization fallback (item 4)."""

from __future__ import annotations

import pytest
import time_machine
from django.utils import timezone

from portal import services as portal_services
from portal.models import PortalMembership, PortalRole
from scim import services as scim_services
from sso import services
from tests import factories

from . import flow


@pytest.fixture
def signed_in(client, sso, jordan, idp, organization):
    """``client`` holds jordan's SSO portal session: a member of the portal group, a viewer."""
    request = flow.request_id(idp, organization, flow.start(client, organization))
    flow.post(client, organization, idp.response(organization, request))
    assert client.get(f"/portal/o/{organization.slug}/").status_code == 200
    return client


@pytest.fixture
def signed_in_admin(client, sso, jordan, idp, organization):
    """``client`` holds jordan's SSO portal session after an accepted admin invitation."""
    invitation, _ = portal_services.invite(
        organization, email=jordan.user_name, role=PortalRole.ADMIN, actor=None, send=False
    )
    portal_services.accept_invitation_for_sso(invitation.pk)
    request = flow.request_id(idp, organization, flow.start(client, organization))
    flow.post(client, organization, idp.response(organization, request))
    assert client.get(f"/portal/o/{organization.slug}/").status_code == 200
    return client


def _dashboard_status(client, organization) -> int:
    return client.get(f"/portal/o/{organization.slug}/").status_code


def test_deactivating_the_user_through_scim_ends_the_open_session(signed_in, jordan, organization):
    scim_services.patch_user(jordan, [{"op": "replace", "path": "active", "value": False}])
    assert _dashboard_status(signed_in, organization) == 302
    assert flow.signed_in_as(signed_in) is None


def test_deleting_the_user_through_scim_ends_the_open_session(signed_in, jordan, organization):
    scim_services.delete_user(jordan)
    assert _dashboard_status(signed_in, organization) == 302


def test_removing_the_user_from_the_portal_group_ends_the_open_session(
    signed_in, jordan, admins_group, organization
):
    scim_services.patch_group(
        admins_group,
        [
            {"op": "remove", "path": "members", "value": [{"value": str(jordan.scim_id)}]},
        ],
    )
    assert _dashboard_status(signed_in, organization) == 302


def test_switching_sso_off_ends_the_open_session(signed_in, sso, organization):
    services.set_enabled(sso, False, actor=None)
    assert _dashboard_status(signed_in, organization) == 302


def test_a_session_outlives_no_more_than_the_configured_age(signed_in, organization, settings):
    later = timezone.now() + timezone.timedelta(seconds=settings.SSO_SESSION_MAX_AGE_SECONDS + 1)
    with time_machine.travel(later, tick=False):
        assert _dashboard_status(signed_in, organization) == 302


def test_a_session_within_its_age_stays_open(signed_in, organization, settings):
    later = timezone.now() + timezone.timedelta(seconds=settings.SSO_SESSION_MAX_AGE_SECONDS - 60)
    with time_machine.travel(later, tick=False):
        assert _dashboard_status(signed_in, organization) == 200


def test_the_session_check_is_one_query(signed_in, jordan, organization, django_assert_num_queries):
    with django_assert_num_queries(1):
        assert services.sso_session_is_valid(organization.pk, jordan.pk)


def test_the_session_check_stays_one_query_for_a_user_in_many_groups(
    sso, jordan, organization, django_assert_num_queries
):
    from .conftest import provision_group

    for n in range(20):
        scim_services.patch_group(
            provision_group(organization, f"Team {n}"),
            [
                {"op": "add", "path": "members", "value": [{"value": str(jordan.scim_id)}]},
            ],
        )
    with django_assert_num_queries(1):
        assert services.sso_session_is_valid(organization.pk, jordan.pk)


def test_an_sso_portal_account_belongs_to_its_organization_only(signed_in, organization):
    memberships = PortalMembership.objects.filter(user__username__startswith="sso-")
    assert [m.organization_id for m in memberships] == [organization.pk]


def _password_admin(organization):
    user = factories.make_staff(password="tenant-password-1")
    user.is_staff = user.is_superuser = False
    user.save()
    PortalMembership.objects.create(user=user, organization=organization)
    return user


def test_password_sign_in_is_refused_once_sso_is_on(client, sso, organization):
    user = _password_admin(organization)
    answer = client.post(
        "/portal/login/", {"username": user.username, "password": "tenant-password-1"}
    )
    assert "_auth_user_id" not in client.session
    assert "signs in with single sign-on" in answer.content.decode()


def test_password_sign_in_works_when_the_organization_also_allows_it(client, sso, organization):
    services.set_password_sign_in(sso, True, actor=None)
    user = _password_admin(organization)
    assert factories.sign_in(client, "/portal/login/", user.username, "tenant-password-1")


def test_password_sign_in_is_unaffected_for_an_organization_without_sso(
    client, sso, other_organization
):
    user = _password_admin(other_organization)
    assert factories.sign_in(client, "/portal/login/", user.username, "tenant-password-1")


def test_a_portal_group_member_signs_in_as_a_viewer(signed_in, organization):
    membership = PortalMembership.objects.get(user__username__startswith="sso-")
    assert membership.role == PortalRole.VIEWER


def test_a_portal_group_member_without_an_admin_invitation_cannot_open_the_sso_page(
    signed_in, organization
):
    assert signed_in.get(f"/portal/o/{organization.slug}/sso/").status_code == 403


def test_the_portal_shows_the_values_for_entra_and_the_refusals(
    client, sso, idp, organization, signed_in_admin
):
    from .conftest import provision_user

    provision_user(organization, "casey@contoso.com")
    other = client.__class__()
    request = flow.request_id(idp, organization, flow.start(other, organization))
    flow.post(other, organization, idp.response(organization, request, name_id="casey@contoso.com"))
    page = signed_in_admin.get(f"/portal/o/{organization.slug}/sso/").content.decode()
    sp = services.service_provider(organization)
    assert f'value="{sp.acs_url}"' in page
    assert "casey@contoso.com was refused: not in Kno2 Admins" in page
    assert "jordan@contoso.com signed in" in page


def test_the_portal_navigation_links_an_admin_to_the_organizations_sso_page(
    signed_in_admin, organization
):
    page = signed_in_admin.get(f"/portal/o/{organization.slug}/").content.decode()
    assert f'<a href="/portal/o/{organization.slug}/sso/">Single sign-on</a>' in page


def test_the_portal_login_page_offers_sign_in_with_sso(client):
    page = client.get("/portal/login/").content.decode()
    assert '<form method="get" action="/sso/start/">' in page


def test_another_organizations_sso_page_is_not_found(signed_in, other_organization):
    assert signed_in.get(f"/portal/o/{other_organization.slug}/sso/").status_code == 404


def test_an_sso_portal_account_never_signs_in_with_a_password(client, signed_in, sso, organization):
    """Even if it were given a password (say through a set-password link), and even where the
    organization also allows passwords: a password session would skip the SSO checks."""
    from django.test import Client

    services.set_password_sign_in(sso, True, actor=None)
    account = PortalMembership.objects.get(user__username__startswith="sso-").user
    account.set_password("tenant-password-1")
    account.save()
    assert not factories.sign_in(Client(), "/portal/login/", account.username, "tenant-password-1")
