"""Invitations to an SSO-only organization: the person signs in through SSO, and the role the
invitation gave reaches the account SSO makes."""

from __future__ import annotations

from portal import services as portal_services
from portal.models import PortalMembership, PortalRole
from sso import services

from .conftest import provision_user


def _accept_for_sso(organization, email: str, role: str) -> None:
    invitation, _ = portal_services.invite(
        organization, email=email, role=role, actor=None, send=False
    )
    portal_services.accept_invitation_for_sso(invitation.pk)


def test_an_organization_with_sso_and_no_password_sign_in_is_sso_only(sso, organization):
    assert services.organization_is_sso_only(organization)
    sso.allow_password_sign_in = True
    sso.save()
    assert not services.organization_is_sso_only(organization)


def test_an_accepted_admin_invitation_makes_the_sso_account_an_admin(sso, organization):
    _accept_for_sso(organization, "kim@contoso.com", PortalRole.ADMIN)
    user = services.portal_user_for(provision_user(organization, "kim@contoso.com"))
    assert PortalMembership.objects.get(user=user, organization=organization).role == "admin"


def test_an_sso_account_invited_as_viewer_stays_a_viewer(sso, organization):
    _accept_for_sso(organization, "kim@contoso.com", PortalRole.VIEWER)
    user = services.portal_user_for(provision_user(organization, "kim@contoso.com"))
    assert PortalMembership.objects.get(user=user, organization=organization).role == "viewer"
