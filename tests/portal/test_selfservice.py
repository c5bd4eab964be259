"""A customer's own administrators: invitations, roles, and provisioning credentials in the
portal, with the live Test Connection status."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from oauth.models import OAuthClient
from organizations.models import AuditRecord, ProvisioningToken
from portal.models import Invitation, PortalMembership, PortalRole
from sso.models import SsoConfiguration
from tests import factories

from .conftest import STRONG, portal_member, record


def _invite_by_command(organization, email="new.admin@clinic.example", role="admin") -> dict:
    out = StringIO()
    call_command(
        "invite_tenant_admin",
        organization.slug,
        "--email",
        email,
        "--role",
        role,
        "--json",
        stdout=out,
    )
    return json.loads(out.getvalue())


def _path(url: str) -> str:
    return url.removeprefix("https://provisioning.kno2.test")


# -- Invitations --------------------------------------------------------------------------------


def test_the_command_prints_the_invitation_link_and_its_expiry_as_json(organization, settings):
    settings.PORTAL_INVITATION_HOURS = 5
    printed = _invite_by_command(organization)
    assert set(printed) == {"invitation_url", "expires_at"}
    assert printed["invitation_url"].startswith(
        "https://provisioning.kno2.test/portal/invitation/k2i_"
    )
    expires = timezone.datetime.fromisoformat(printed["expires_at"])
    assert timedelta(hours=4, minutes=59) < expires - timezone.now() <= timedelta(hours=5)


def test_the_command_emails_the_link_to_the_invited_person(
    organization, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        printed = _invite_by_command(organization)
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["new.admin@clinic.example"]
    assert printed["invitation_url"] in mail.outbox[0].body


def test_only_a_hash_of_the_invitation_link_is_stored(organization):
    printed = _invite_by_command(organization)
    secret = printed["invitation_url"].rstrip("/").rsplit("/", 1)[1]
    invitation = Invitation.objects.get()
    stored = json.dumps(list(Invitation.objects.values()), default=str)
    assert secret not in stored
    assert invitation.digest and invitation.key in secret


def test_the_invitation_is_audited_with_who_sent_it(organization):
    _invite_by_command(organization, role="viewer")
    record_ = AuditRecord.objects.get(action="portal_invitation_sent")
    assert record_.actor_name.startswith("manage.py invite_tenant_admin")
    assert record_.detail["email"] == "new.admin@clinic.example"
    assert record_.detail["role"] == "viewer"


def test_accepting_an_invitation_sets_a_password_and_signs_the_person_in(client, organization):
    printed = _invite_by_command(organization)
    answer = client.get(_path(printed["invitation_url"]))
    assert answer["Location"] == "/portal/invitation/accept/"
    form = client.get("/portal/invitation/accept/").content.decode()
    assert 'name="new_password1"' in form and 'name="new_password2"' in form
    done = client.post(
        "/portal/invitation/accept/", {"new_password1": STRONG, "new_password2": STRONG}
    )
    assert done["Location"] == f"/portal/o/{organization.slug}/"
    assert client.get(done["Location"]).status_code == 200
    membership = PortalMembership.objects.get(user__username="new.admin@clinic.example")
    assert membership.role == PortalRole.ADMIN
    assert membership.user.check_password(STRONG)


def test_an_invitation_refuses_a_password_the_validators_refuse(client, organization):
    printed = _invite_by_command(organization)
    client.get(_path(printed["invitation_url"]))
    answer = client.post(
        "/portal/invitation/accept/", {"new_password1": "password", "new_password2": "password"}
    )
    assert answer.status_code == 200
    assert "This password is too common." in answer.content.decode()
    assert not get_user_model().objects.filter(username="new.admin@clinic.example").exists()


def test_an_invitation_link_works_once(client, organization):
    printed = _invite_by_command(organization)
    client.get(_path(printed["invitation_url"]))
    client.post("/portal/invitation/accept/", {"new_password1": STRONG, "new_password2": STRONG})
    again = Client().get(_path(printed["invitation_url"]))
    assert again.status_code == 404
    assert "already been used or has expired" in again.content.decode()


def test_an_expired_invitation_link_does_not_work(client, organization):
    printed = _invite_by_command(organization)
    Invitation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert client.get(_path(printed["invitation_url"])).status_code == 404


def test_accepting_is_audited(client, organization):
    printed = _invite_by_command(organization)
    client.get(_path(printed["invitation_url"]))
    client.post("/portal/invitation/accept/", {"new_password1": STRONG, "new_password2": STRONG})
    accepted = AuditRecord.objects.get(action="portal_invitation_accepted")
    assert accepted.actor_name == "new.admin@clinic.example"
    assert accepted.detail["signed_in_with"] == "password"


def test_an_sso_only_organization_sends_the_invited_person_through_single_sign_on(
    client, organization
):
    SsoConfiguration.objects.create(
        organization=organization, idp_entity_id="https://sts.windows.net/x/", metadata_xml="<x/>"
    )
    printed = _invite_by_command(organization)
    client.get(_path(printed["invitation_url"]))
    page = client.get("/portal/invitation/accept/").content.decode()
    assert "new_password1" not in page
    answer = client.post("/portal/invitation/accept/")
    assert answer["Location"] == f"/sso/start/?organization={organization.slug}"
    assert not get_user_model().objects.filter(username="new.admin@clinic.example").exists()
    assert Invitation.objects.get().accepted_at is not None


def test_an_invitation_for_an_existing_account_asks_it_to_sign_in_first(client, organization):
    get_user_model().objects.create_user(
        username="new.admin@clinic.example", email="x@y.test", password=STRONG
    )
    printed = _invite_by_command(organization)
    client.get(_path(printed["invitation_url"]))
    answer = client.post(
        "/portal/invitation/accept/", {"new_password1": "Other-pass-99", "new_password2": "x"}
    )
    assert "sign in</a> to accept" in answer.content.decode()
    assert not PortalMembership.objects.filter(organization=organization).exists()


def test_a_customer_admin_invites_from_the_portal_by_email_only(
    customer_admin, organization, django_capture_on_commit_callbacks
):
    _, client = customer_admin
    with django_capture_on_commit_callbacks(execute=True):
        answer = client.post(
            f"/portal/o/{organization.slug}/members/invite/",
            {"email": "colleague@clinic.example", "role": "viewer"},
        )
    assert answer.status_code == 302
    invitation = Invitation.objects.get()
    assert invitation.created_by.username == "ada"
    assert mail.outbox[0].to == ["colleague@clinic.example"]
    link = re.search(r"https://\S+/portal/invitation/\S+", mail.outbox[0].body).group(0)
    page = client.get(answer["Location"]).content.decode()
    assert "Invitation e-mailed to colleague@clinic.example" in page
    assert _path(link) not in page


# -- Roles --------------------------------------------------------------------------------------


def test_a_viewer_sees_the_members_but_no_invitation_form(viewer, organization):
    _, client = viewer
    page = client.get(f"/portal/o/{organization.slug}/members/").content.decode()
    assert "vic@clinic.example" in page
    assert "Send invitation" not in page
    assert ">Provisioning</a>" not in page


def test_a_viewer_cannot_open_the_provisioning_page(viewer, organization):
    _, client = viewer
    assert client.get(f"/portal/o/{organization.slug}/provisioning/").status_code == 403


ADMIN_FORMS = [
    ("members/invite/", {"email": "x@clinic.example", "role": "admin"}),
    ("provisioning/tokens/", {}),
    ("provisioning/tokens/{token}/rotate/", {}),
    ("provisioning/tokens/{token}/revoke/", {}),
    ("provisioning/clients/", {}),
    ("provisioning/clients/{client}/rotate/", {}),
    ("provisioning/clients/{client}/revoke/", {}),
    (
        "provisioning/workload-identity/",
        {
            "issuer": f"https://login.microsoftonline.com/{factories.TENANT_A}/v2.0",
            "subject": "s",
            "audience": "api://AzureADTokenExchange",
        },
    ),
]


def _state(organization) -> list:
    return [
        list(ProvisioningToken.objects.values_list("pk", "revoked_at", "expires_at")),
        list(OAuthClient.objects.values_list("pk", "revoked_at", "subject")),
        list(Invitation.objects.values_list("pk")),
        AuditRecord.objects.count(),
    ]


@pytest.mark.parametrize(("path", "data"), ADMIN_FORMS)
def test_a_viewer_posting_an_admin_form_directly_is_refused_and_nothing_changes(
    viewer, organization, token, path, data
):
    _, client = viewer
    oauth_client, _ = factories.make_oauth_client(organization)
    before = _state(organization)
    url = f"/portal/o/{organization.slug}/" + path.format(token=token[0].pk, client=oauth_client.pk)
    assert client.post(url, data).status_code == 403
    assert _state(organization) == before


def test_a_person_who_administers_several_organizations_sees_them_all(
    organization, other_organization
):
    user, client = portal_member(organization, "multi", PortalRole.ADMIN)
    PortalMembership.objects.create(
        user=user, organization=other_organization, role=PortalRole.ADMIN
    )
    page = client.get("/portal/").content.decode()
    assert organization.name in page and other_organization.name in page
    page = client.get(f"/portal/o/{organization.slug}/provisioning/").content.decode()
    assert f'href="/portal/o/{other_organization.slug}/provisioning/"' in page
    assert client.get(f"/portal/o/{other_organization.slug}/provisioning/").status_code == 200


def test_an_admin_of_one_organization_is_only_a_viewer_of_another(organization, other_organization):
    user, client = portal_member(organization, "mixed", PortalRole.ADMIN)
    PortalMembership.objects.create(user=user, organization=other_organization)
    answer = client.post(f"/portal/o/{other_organization.slug}/provisioning/tokens/")
    assert answer.status_code == 403
    assert not other_organization.tokens.exists()


# -- Provisioning credentials --------------------------------------------------------------------


def test_create_a_secret_token_shows_the_tenant_url_and_the_token_once(
    customer_admin, organization
):
    _, client = customer_admin
    page = client.get(f"/portal/o/{organization.slug}/provisioning/").content.decode()
    assert "Create a Secret Token" in page
    answer = client.post(f"/portal/o/{organization.slug}/provisioning/tokens/")
    shown = client.get(answer["Location"]).content.decode()
    assert "Tenant URL" in shown and "Secret Token" in shown
    assert f'value="{organization.scim_base_url}"' in shown
    plaintext = re.search(r'id="secret-token"[^>]*value="(k2p_[^"]+)"', shown).group(1)
    token = ProvisioningToken.objects.get()
    assert ProvisioningToken.verify(ProvisioningToken.objects.all(), plaintext) == token
    assert plaintext not in client.get(answer["Location"]).content.decode()


def test_creating_a_token_in_the_portal_is_audited_with_the_customer_admin(
    customer_admin, organization
):
    _, client = customer_admin
    client.post(f"/portal/o/{organization.slug}/provisioning/tokens/")
    assert AuditRecord.objects.get(action="token_issued").actor_name == "ada"


def test_rotating_keeps_two_tokens_active_and_shows_the_old_ones_end_date(
    customer_admin, organization, token, settings
):
    _, client = customer_admin
    client.post(f"/portal/o/{organization.slug}/provisioning/tokens/{token[0].pk}/rotate/")
    assert organization.tokens.active().count() == 2
    old = ProvisioningToken.objects.get(pk=token[0].pk)
    page = client.get(f"/portal/o/{organization.slug}/provisioning/").content.decode()
    assert f"replaced — works until {old.expires_at:%Y-%m-%d %H:%M} UTC" in page
    assert AuditRecord.objects.get(action="token_rotated").actor_name == "ada"


def test_revoking_a_token_in_the_portal_stops_it(customer_admin, organization, token):
    _, client = customer_admin
    client.post(f"/portal/o/{organization.slug}/provisioning/tokens/{token[0].pk}/revoke/")
    assert not organization.tokens.active().exists()
    assert AuditRecord.objects.get(action="token_revoked").actor_name == "ada"


def test_an_oauth_client_shows_the_token_endpoint_client_id_and_secret_once(
    customer_admin, organization
):
    _, client = customer_admin
    answer = client.post(f"/portal/o/{organization.slug}/provisioning/clients/")
    oauth_client = OAuthClient.objects.get()
    shown = client.get(answer["Location"]).content.decode()
    assert f"/oauth/{organization.public_id}/token" in shown
    assert f'value="{oauth_client.client_id}"' in shown
    assert 'id="client-secret"' in shown
    assert 'id="client-secret"' not in client.get(answer["Location"]).content.decode()
    assert AuditRecord.objects.get(action="oauth_client_issued").actor_name == "ada"


def test_rotating_a_client_secret_leaves_two_active_secrets(customer_admin, organization):
    _, client = customer_admin
    oauth_client, _ = factories.make_oauth_client(organization)
    client.post(f"/portal/o/{organization.slug}/provisioning/clients/{oauth_client.pk}/rotate/")
    assert oauth_client.secrets.active().count() == 2


def test_workload_identity_federation_is_configured_in_the_portal(customer_admin, organization):
    _, client = customer_admin
    client.post(
        f"/portal/o/{organization.slug}/provisioning/workload-identity/",
        {
            "issuer": f"https://login.microsoftonline.com/{factories.TENANT_A}/v2.0",
            "subject": "1d2e3f",
            "audience": "api://AzureADTokenExchange",
        },
    )
    assert OAuthClient.objects.get(kind="workload_identity").subject == "1d2e3f"
    assert AuditRecord.objects.get(action="workload_identity_configured").actor_name == "ada"


def test_with_self_service_switched_off_the_portal_refuses_to_issue_credentials(
    customer_admin, organization
):
    organization.self_service_enabled = False
    organization.save()
    _, client = customer_admin
    answer = client.post(f"/portal/o/{organization.slug}/provisioning/tokens/", follow=True)
    assert "switched self-service off" in answer.content.decode()
    assert not organization.tokens.exists()


def _status_url(organization, credential: str) -> str:
    return f"/portal/o/{organization.slug}/provisioning/status.json?credential={credential}"


# -- Test Connection ------------------------------------------------------------------------------


def test_the_status_says_waiting_until_the_credential_is_used(customer_admin, organization, token):
    _, client = customer_admin
    url = _status_url(organization, token[0].display_prefix)
    assert client.get(url).json()["text"] == "Waiting for Test Connection"


def test_the_status_shows_the_first_request_made_with_the_credential(
    customer_admin, organization, token
):
    _, client = customer_admin
    record(organization, token=token[0], operation="list_users", status_code=200)
    url = _status_url(organization, token[0].display_prefix)
    status = client.get(url).json()
    assert status["state"] == "received"
    assert status["succeeded"] is True
    assert status["status_code"] == 200


def test_a_viewer_cannot_read_the_test_connection_status(viewer, organization, token):
    _, client = viewer
    url = f"/portal/o/{organization.slug}/provisioning/status.json?credential=x"
    assert client.get(url).status_code == 403
