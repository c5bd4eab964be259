"""Staff switch SSO on in the admin: the IdP from a metadata URL or file, the values for Entra
with copy buttons, and the sign-in log."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile

from sso import services
from sso.models import SsoConfiguration
from tests import factories

ADD = "/admin/sso/ssoconfiguration/add/"


def _add(client, organization, **fields):
    data = {
        "organization": organization.pk,
        "metadata_url": "",
        "groups": "Kno2 Admins",
        "enabled": "on",
        **fields,
    }
    return client.post(ADD, data)


def test_staff_configure_sso_from_an_uploaded_metadata_file(client, staff_user, organization, idp):
    factories.staff_sign_in(client, staff_user)
    upload = SimpleUploadedFile("federationmetadata.xml", idp.metadata_document.encode())
    answer = _add(client, organization, metadata_file=upload, groups="Kno2 Admins\nKno2 Ops")
    assert answer.status_code == 302
    configuration = SsoConfiguration.objects.get(organization=organization)
    assert (configuration.idp_entity_id, configuration.group_names) == (
        idp.entity_id,
        ["Kno2 Admins", "Kno2 Ops"],
    )


def test_staff_configure_sso_from_the_metadata_url(client, staff_user, organization, idp):
    factories.staff_sign_in(client, staff_user)
    _add(client, organization, metadata_url=idp.metadata_url)
    configuration = SsoConfiguration.objects.get(organization=organization)
    assert configuration.metadata_url == idp.metadata_url


def test_the_admin_refuses_another_tenants_metadata_with_the_reason(
    client, staff_user, other_organization, idp
):
    factories.staff_sign_in(client, staff_user)
    page = _add(client, other_organization, metadata_url=idp.metadata_url).content.decode()
    assert f"is for Entra tenant {factories.TENANT_A}" in page
    assert not SsoConfiguration.objects.exists()


def test_the_change_page_shows_the_values_for_entra_with_copy_buttons(
    client, staff_user, sso, organization
):
    factories.staff_sign_in(client, staff_user)
    page = client.get(f"/admin/sso/ssoconfiguration/{sso.pk}/change/").content.decode()
    sp = services.service_provider(organization)
    for field_id, value in [
        ("sso-entity-id", sp.entity_id),
        ("sso-acs-url", sp.acs_url),
        ("sso-login-url", sp.login_url),
        ("sso-metadata-url", sp.metadata_url),
    ]:
        assert f'id="{field_id}" type="text" readonly size="70" value="{value}"' in page
        assert f'data-copy="{field_id}"' in page


def test_staff_see_each_organizations_refusals_only_on_its_page(
    client, staff_user, sso, organization, other_organization
):
    services.record_attempt(
        organization, name_id="jordan@contoso.com", reason="not_in_group", detail="Kno2 Admins"
    )
    services.record_attempt(
        other_organization, name_id="sam@lakeside.test", reason="not_provisioned"
    )
    factories.staff_sign_in(client, staff_user)
    page = client.get(f"/admin/sso/ssoconfiguration/{sso.pk}/change/").content.decode()
    assert "jordan@contoso.com was refused: not in Kno2 Admins" in page
    assert "sam@lakeside.test" not in page


def test_the_sign_in_log_lists_every_attempt_for_staff(client, staff_user, organization):
    services.record_attempt(
        organization, name_id="jordan@contoso.com", reason="not_in_group", detail="Kno2 Admins"
    )
    factories.staff_sign_in(client, staff_user)
    page = client.get("/admin/sso/signinattempt/").content.decode()
    assert "jordan@contoso.com was refused: not in Kno2 Admins" in page


def test_the_organization_page_links_to_its_sso_configuration(
    client, staff_user, sso, organization, other_organization
):
    factories.staff_sign_in(client, staff_user)
    page = client.get(f"/admin/organizations/organization/{organization.pk}/change/")
    link = f"/admin/sso/ssoconfiguration/?q={organization.slug}"
    assert link in page.content.decode()
    listed = client.get(link).context["cl"].result_list
    assert [configuration.organization for configuration in listed] == [organization]
