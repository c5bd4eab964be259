"""Staff's side of self-service: inviting from the admin, switching self-service off, and the
organization page's setup checklist."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.urls import reverse

from organizations import services as organization_services
from organizations.models import AuditRecord
from portal import services
from portal.models import Invitation
from sso.models import SsoConfiguration
from tests import factories

from .conftest import record


@pytest.fixture
def staff_client(client, staff_user):
    return factories.staff_sign_in(client, staff_user)


def _checklist(staff_client, organization) -> list[str]:
    page = staff_client.get(
        reverse("admin:organizations_organization_change", args=[organization.pk])
    ).content.decode()
    block = page[page.index('data-testid="setup-checklist"') :]
    block = block[: block.index("</ol>")]
    items = re.findall(r"<li[^>]*>(.*?)</li>", block, re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", item).split()) for item in items]


def test_staff_invite_from_the_admin_and_the_link_is_emailed_not_shown(
    staff_client, staff_user, organization, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            reverse("admin:portal_invitation_add"),
            {"organization": organization.pk, "email": "it@riverside.test", "role": "admin"},
            follow=True,
        )
    invitation = Invitation.objects.get()
    assert (invitation.organization, invitation.role) == (organization, "admin")
    assert invitation.created_by == staff_user
    link = re.search(r"https://\S+/portal/invitation/\S+", mail.outbox[0].body).group(0)
    assert link.rsplit("/portal", 1)[1] not in response.content.decode()
    assert AuditRecord.objects.get(action="portal_invitation_sent").actor == staff_user


def test_the_organization_page_links_to_inviting_someone(staff_client, organization):
    page = staff_client.get(
        reverse("admin:organizations_organization_change", args=[organization.pk])
    ).content.decode()
    assert f"{reverse('admin:portal_invitation_add')}?organization={organization.pk}" in page


def test_staff_switch_self_service_off_and_it_is_audited(staff_client, staff_user, organization):
    data = {
        "name": organization.name,
        "slug": organization.slug,
        "sso_issuer": organization.sso_issuer,
        "tokens-TOTAL_FORMS": "0",
        "tokens-INITIAL_FORMS": "0",
        "oauth_clients-TOTAL_FORMS": "0",
        "oauth_clients-INITIAL_FORMS": "0",
    }
    response = staff_client.post(
        reverse("admin:organizations_organization_change", args=[organization.pk]), data
    )
    assert response.status_code == 302
    organization.refresh_from_db()
    assert organization.self_service_enabled is False
    assert AuditRecord.objects.get(action="self_service_disabled").actor == staff_user


def test_a_new_organizations_checklist_has_only_the_issuer_and_provisioning_done(staff_client, db):
    organization = factories.make_organization(name="Fresh", slug="fresh")
    steps = _checklist(staff_client, organization)
    assert [step.split(" — ")[0] for step in steps] == [
        "✓ SSO issuer set",
        "✓ Provisioning enabled",
        "○ Credential issued not yet",
        "○ First call received not yet",
        "○ SSO configured not yet",
        "○ Admins invited not yet",
    ]


def test_the_checklist_names_who_did_each_step_in_setup_order(
    staff_client, staff_user, organization
):
    customer = factories.make_staff("customer.it")
    services.invite(organization, email="it@riverside.test", role="admin", actor=staff_user)
    token, _ = organization_services.issue_token(organization, actor=customer)
    record(organization, token=token, operation="list_users", status_code=200)
    SsoConfiguration.objects.create(
        organization=organization,
        idp_entity_id="https://sts.windows.net/x/",
        metadata_xml="<x/>",
        configured_by=customer,
    )
    steps = _checklist(staff_client, organization)
    assert steps[2].startswith("✓ Credential issued — customer.it,")
    assert steps[3].startswith(f"✓ First call received — {token.display_prefix},")
    assert steps[4].startswith("✓ SSO configured — customer.it,")
    assert steps[5].startswith(f"✓ Admins invited — {staff_user.username},")
    assert "1 invited, 0 accepted" in steps[5]
