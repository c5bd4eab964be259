"""The portal's Single sign-on page: customer admins set up their identity provider alone."""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from organizations.models import AuditRecord
from portal.models import PortalMembership, PortalRole
from sso import audit, services
from sso.models import SignInAttempt, SsoConfiguration
from tests import factories
from tests.portal.conftest import make_tenant_admin

from .conftest import provision_group
from .idp import metadata_xml

ENTRA_ISSUER = f"https://sts.windows.net/{factories.TENANT_A}/"
OKTA_APP = "http://www.okta.com/exk1fcia6d6EMsf331d8"


def _member(organization, role, username="alice.admin", *more):
    user = make_tenant_admin(organization, username)
    for other in (organization, *more):
        PortalMembership.objects.update_or_create(
            user=user, organization=other, defaults={"role": role}
        )
    return user


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def sso_with_passwords(sso):
    """SSO on, and password sessions (the test clients') still allowed."""
    return services.set_password_sign_in(sso, True, actor=None)


@pytest.fixture
def admin(organization):
    return _member(organization, PortalRole.ADMIN)


@pytest.fixture
def viewer(organization):
    return _member(organization, PortalRole.VIEWER, "victor.viewer")


def _url(organization) -> str:
    return f"/portal/o/{organization.slug}/sso/"


def _form(idp, **overrides) -> dict:
    data = {
        "kind": "entra",
        "issuer": ENTRA_ISSUER,
        "metadata_file": SimpleUploadedFile(
            "Kno2fy.xml", idp.metadata_document.encode(), content_type="text/xml"
        ),
        "portal_group": "Kno2 Admins",
        "allow_password_sign_in": "on",
    }
    data.update(overrides)
    return data


def test_a_viewer_cannot_open_the_single_sign_on_page(organization, viewer):
    assert _client(viewer).get(_url(organization)).status_code == 403


def test_a_viewer_posting_the_form_directly_is_refused_and_nothing_changes(
    organization, viewer, idp, admins_group
):
    answer = _client(viewer).post(_url(organization), _form(idp, kind="okta", issuer=OKTA_APP))

    assert answer.status_code == 403
    organization.refresh_from_db()
    assert (organization.idp_kind, organization.sso_issuer) == ("entra", ENTRA_ISSUER)
    assert not SsoConfiguration.objects.filter(organization=organization).exists()


def test_a_viewer_has_no_single_sign_on_link(organization, viewer):
    page = _client(viewer).get(f"/portal/o/{organization.slug}/").content.decode()
    assert ">Single sign-on</a>" not in page


def test_an_admin_sees_the_form_with_its_labels(organization, admin, admins_group):
    page = _client(admin).get(_url(organization)).content.decode()
    assert '<label for="id_metadata_file">Federation Metadata XML</label>' in page
    assert '<label for="id_portal_group">Portal group</label>' in page
    assert '<option value="Kno2 Admins">Kno2 Admins</option>' in page
    assert '<button type="submit">Save single sign-on</button>' in page


def test_uploading_entras_federation_metadata_shows_the_values_with_entras_labels(
    organization, admin, idp, admins_group
):
    client = _client(admin)
    answer = client.post(_url(organization), _form(idp))
    assert answer.status_code == 303

    page = client.get(_url(organization)).content.decode()
    sp = services.service_provider(organization)
    for label, value in (
        ("Identifier (Entity ID)", sp.entity_id),
        ("Reply URL (Assertion Consumer Service URL)", sp.acs_url),
        ("Sign on URL", sp.login_url),
    ):
        assert f">{label}</label></th>" in page
        assert f'value="{value}"' in page
    assert "Single sign-on is on, through " + ENTRA_ISSUER in page


def test_saving_configures_single_sign_on_for_the_chosen_portal_group(
    organization, admin, idp, admins_group
):
    provision_group(organization, "Everyone")
    _client(admin).post(_url(organization), _form(idp))

    configuration = SsoConfiguration.objects.get(organization=organization)
    assert (configuration.enabled, configuration.group_names) == (True, ["Kno2 Admins"])


def test_saving_is_audited_with_the_customer_admin(organization, admin, idp, admins_group):
    _client(admin).post(_url(organization), _form(idp))

    record = AuditRecord.objects.get(organization=organization, action=audit.SSO_CONFIGURED)
    assert record.actor == admin


def test_the_metadata_url_is_fetched_and_kept(organization, admin, idp, admins_group):
    data = _form(idp, metadata_url=idp.metadata_url)
    del data["metadata_file"]
    _client(admin).post(_url(organization), data)

    configuration = SsoConfiguration.objects.get(organization=organization)
    assert configuration.metadata_url == idp.metadata_url
    assert configuration.idp_entity_id == ENTRA_ISSUER


def test_metadata_of_another_tenant_is_refused_with_the_reason_and_nothing_changes(
    organization, admin, idp, admins_group
):
    foreign = metadata_xml(f"https://sts.windows.net/{factories.TENANT_B}/", idp.sso_url, idp.keys)
    answer = _client(admin).post(
        _url(organization),
        _form(idp, metadata_file=SimpleUploadedFile("other.xml", foreign.encode())),
    )

    assert answer.status_code == 400
    assert f"The IdP metadata is for Entra tenant {factories.TENANT_B}" in answer.content.decode()
    assert not SsoConfiguration.objects.filter(organization=organization).exists()


def test_without_metadata_the_form_asks_for_the_url_or_the_file(
    organization, admin, idp, admins_group
):
    data = _form(idp)
    del data["metadata_file"]
    answer = _client(admin).post(_url(organization), data)

    assert "Give the metadata URL or upload the Federation Metadata XML file." in (
        answer.content.decode()
    )


def test_an_okta_organizations_saved_page_uses_oktas_wording(
    organization, admin, idp, admins_group
):
    okta_metadata = metadata_xml(OKTA_APP, "https://contoso.okta.com/app/sso/saml", idp.keys)
    client = _client(admin)
    answer = client.post(
        _url(organization),
        _form(
            idp,
            kind="okta",
            issuer=OKTA_APP,
            metadata_file=SimpleUploadedFile("okta.xml", okta_metadata.encode()),
        ),
    )
    assert answer.status_code == 303

    page = client.get(_url(organization)).content.decode()
    assert ">Audience URI (SP Entity ID)</label></th>" in page
    assert ">Single sign-on URL</label></th>" in page
    assert "Reply URL (Assertion Consumer Service URL)" not in page
    organization.refresh_from_db()
    assert (organization.idp_kind, organization.sso_issuer) == ("okta", OKTA_APP)


def test_changing_the_kind_ends_the_old_identity_providers_trust(
    organization, admin, idp, admins_group
):
    client = _client(admin)
    client.post(_url(organization), _form(idp))
    okta_metadata = metadata_xml(OKTA_APP, "https://contoso.okta.com/app/sso/saml", idp.keys)
    client.post(
        _url(organization),
        _form(
            idp,
            kind="okta",
            issuer=OKTA_APP,
            metadata_file=SimpleUploadedFile("okta.xml", okta_metadata.encode()),
        ),
    )

    actions = list(
        AuditRecord.objects.filter(organization=organization)
        .filter(action__in=[audit.SSO_DISABLED_IDENTITY_PROVIDER_CHANGED, audit.SSO_CONFIGURED])
        .order_by("pk")
        .values_list("action", flat=True)
    )
    assert actions == [
        audit.SSO_CONFIGURED,
        audit.SSO_DISABLED_IDENTITY_PROVIDER_CHANGED,
        audit.SSO_CONFIGURED,
    ]
    assert SsoConfiguration.objects.get(organization=organization).idp_entity_id == OKTA_APP


def test_an_admin_of_several_organizations_applies_one_connection_to_them(
    organization, other_organization, idp, admins_group
):
    user = _member(organization, PortalRole.ADMIN, "alice.admin", other_organization)
    answer = _client(user).post(
        _url(organization), _form(idp, also_apply_to=[other_organization.slug])
    )
    assert answer.status_code == 303

    for target in (organization, other_organization):
        target.refresh_from_db()
        configuration = SsoConfiguration.objects.get(organization=target)
        assert (target.idp_kind, target.sso_issuer) == ("entra", ENTRA_ISSUER)
        assert configuration.metadata_xml == idp.metadata_document
        assert configuration.group_names == ["Kno2 Admins"]
        assert AuditRecord.objects.get(organization=target, action=audit.SSO_CONFIGURED).actor == (
            user
        )


def test_the_other_organizations_offered_are_only_those_the_person_administers(
    organization, other_organization, admin, admins_group
):
    PortalMembership.objects.create(
        user=admin, organization=other_organization, role=PortalRole.VIEWER
    )
    page = _client(admin).get(_url(organization)).content.decode()
    assert 'name="also_apply_to" value="lakeside"' not in page


def test_applying_to_an_organization_one_only_views_is_refused(
    organization, other_organization, admin, idp, admins_group
):
    PortalMembership.objects.create(
        user=admin, organization=other_organization, role=PortalRole.VIEWER
    )
    answer = _client(admin).post(
        _url(organization), _form(idp, also_apply_to=[other_organization.slug])
    )

    assert answer.status_code == 400
    assert "Select a valid choice" in answer.content.decode()
    assert not SsoConfiguration.objects.exists()


def test_saving_is_refused_while_self_service_is_switched_off(
    organization, admin, idp, admins_group
):
    organization.self_service_enabled = False
    organization.save()
    client = _client(admin)
    answer = client.post(_url(organization), _form(idp), follow=True)

    assert "Kno2 has switched self-service off for Riverside Clinic" in answer.content.decode()
    assert not SsoConfiguration.objects.filter(organization=organization).exists()


def test_the_test_button_opens_an_sp_initiated_sign_in_in_a_new_tab(
    organization, admin, sso_with_passwords
):
    page = _client(admin).get(_url(organization)).content.decode()
    start = f"/sso/{organization.public_id}/login/?next=/portal/o/{organization.slug}/sso/"
    assert (
        f'<a class="button" role="button" href="{start}" target="_blank" rel="noopener">'
        "Test single sign-on</a>"
    ) in page


def test_the_latest_sign_in_outcome_is_reported_for_polling(
    organization, admin, sso_with_passwords
):
    services.record_attempt(organization, name_id="casey@contoso.com", reason="not_provisioned")

    answer = _client(admin).get(f"{_url(organization)}latest.json").json()

    assert answer["state"] == "refused"
    assert answer["text"].endswith(
        "casey@contoso.com was refused: no provisioned user has this name"
    )


def test_a_viewer_cannot_poll_the_sign_in_log(organization, viewer, sso_with_passwords):
    SignInAttempt.objects.create(organization=organization, outcome="accepted", name_id="a@b.c")
    assert _client(viewer).get(f"{_url(organization)}latest.json").status_code == 403


def test_the_other_organizations_the_person_administers_are_offered(
    organization, other_organization, admins_group
):
    user = _member(organization, PortalRole.ADMIN, "alice.admin", other_organization)
    page = _client(user).get(_url(organization)).content.decode()
    assert 'name="also_apply_to" value="lakeside"' in page


def test_a_refused_save_leaves_the_identity_provider_as_it_was(
    organization, admin, idp, admins_group
):
    """The issuer is set before the metadata is checked: a refusal undoes both."""
    answer = _client(admin).post(_url(organization), _form(idp, kind="okta", issuer=OKTA_APP))

    assert answer.status_code == 400
    organization.refresh_from_db()
    assert (organization.idp_kind, organization.sso_issuer) == ("entra", ENTRA_ISSUER)


def test_applying_to_an_organization_whose_self_service_is_off_changes_neither(
    organization, other_organization, idp, admins_group
):
    user = _member(organization, PortalRole.ADMIN, "alice.admin", other_organization)
    other_organization.self_service_enabled = False
    other_organization.save()
    answer = _client(user).post(
        _url(organization), _form(idp, also_apply_to=[other_organization.slug]), follow=True
    )

    assert "Kno2 has switched self-service off for Lakeside Hospital" in answer.content.decode()
    assert not SsoConfiguration.objects.exists()


def test_a_first_setup_offers_to_keep_password_sign_in(organization, admin, admins_group):
    page = _client(admin).get(_url(organization)).content.decode()
    checkbox = re.search(r"<input[^>]*name=\"allow_password_sign_in\"[^>]*>", page)
    assert " checked" in checkbox.group(0)


def test_switching_password_sign_in_off_sends_a_password_session_home(
    organization, admin, idp, admins_group
):
    data = _form(idp)
    del data["allow_password_sign_in"]
    client = _client(admin)
    answer = client.post(_url(organization), data)

    assert answer.status_code == 303
    assert answer["Location"] == "/portal/"
    assert SsoConfiguration.objects.get(organization=organization).allow_password_sign_in is False
    assert client.get(_url(organization))["Location"].startswith("/portal/login/")
