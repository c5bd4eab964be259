"""Configuring an organization's IdP (issue 11 item 1 and the configure_sso command): metadata
from a URL or a file, the issuer rule, Okta, certificate rollover through scheduled refreshes."""

from __future__ import annotations

import json
import time

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from organizations import services as org_services
from sso import services
from sso.models import SsoConfiguration
from tests import factories
from tests.outbound_servers import MisbehavingServer

from . import flow
from .idp import TestIdp, make_signing_key, metadata_xml


def _configure(organization, **kwargs):
    return services.configure_sso(organization, portal_groups=["Kno2 Admins"], actor=None, **kwargs)


def test_configure_sso_prints_the_values_to_paste_into_entra(organization, idp, capsys):
    call_command(
        "configure_sso",
        organization.slug,
        "--metadata-url",
        idp.metadata_url,
        "--portal-group",
        "Kno2 Admins",
        "--portal-group",
        "Kno2 Viewers",
        "--json",
    )
    printed = json.loads(capsys.readouterr().out)
    base = f"https://provisioning.kno2.test/sso/{organization.public_id}"
    assert {
        key: printed[key]
        for key in (
            "entity_id",
            "acs_url",
            "login_url",
            "metadata_url",
            "portal_groups",
            "idp_entity_id",
        )
    } == {
        "entity_id": base,
        "acs_url": f"{base}/acs/",
        "login_url": f"{base}/login/",
        "metadata_url": f"{base}/metadata/",
        "portal_groups": ["Kno2 Admins", "Kno2 Viewers"],
        "idp_entity_id": idp.entity_id,
    }


def test_configure_sso_accepts_an_uploaded_metadata_file(organization, idp, tmp_path, capsys):
    path = tmp_path / "federationmetadata.xml"
    path.write_text(idp.metadata_document)
    call_command(
        "configure_sso",
        organization.slug,
        "--metadata-file",
        str(path),
        "--portal-group",
        "Kno2 Admins",
        "--json",
    )
    configuration = SsoConfiguration.objects.get(organization=organization)
    assert (configuration.idp_entity_id, configuration.metadata_url) == (idp.entity_id, "")


def test_metadata_of_another_entra_tenant_is_refused_with_the_reason(other_organization, idp):
    with pytest.raises(
        CommandError,
        match=(
            f"for Entra tenant {factories.TENANT_A}, but Lakeside Hospital's SSO issuer is "
            f"tenant {factories.TENANT_B}"
        ),
    ):
        call_command(
            "configure_sso",
            other_organization.slug,
            "--metadata-url",
            idp.metadata_url,
            "--portal-group",
            "Kno2 Admins",
        )
    assert not SsoConfiguration.objects.filter(organization=other_organization).exists()


def test_the_tenant_matches_whichever_issuer_format_the_organization_records(organization, idp):
    org_services.set_sso_issuer(
        organization, f"https://login.microsoftonline.com/{factories.TENANT_A}/v2.0", actor=None
    )
    assert _configure(organization, metadata_url=idp.metadata_url).idp_is_entra


def test_an_organization_without_an_sso_issuer_cannot_configure_sso(db, idp):
    organization = factories.make_organization(tenant_id=None)
    with pytest.raises(services.SsoConfigurationError, match="Set the organization's SSO issuer"):
        _configure(organization, metadata_url=idp.metadata_url)


OKTA_APP = "http://www.okta.com/exk1fcia6d6EMsf331d8"


def test_okta_metadata_of_the_organizations_app_is_accepted_and_marked_as_not_entra(
    organization, idp
):
    org_services.set_sso_issuer(organization, OKTA_APP, kind="okta", actor=None)
    okta = metadata_xml(OKTA_APP, idp.sso_url, idp.keys)
    configuration = _configure(organization, metadata_xml=okta)
    assert (configuration.idp_entity_id, configuration.idp_is_entra) == (OKTA_APP, False)


def test_okta_metadata_of_another_okta_app_is_refused(organization, idp):
    org_services.set_sso_issuer(organization, OKTA_APP, kind="okta", actor=None)
    other_app = metadata_xml("http://www.okta.com/exk9otherapp0000000", idp.sso_url, idp.keys)
    with pytest.raises(services.SsoConfigurationError, match="is not .*Identity Provider Issuer"):
        _configure(organization, metadata_xml=other_app)


def test_okta_metadata_is_refused_for_an_entra_organization(organization, idp):
    okta = metadata_xml(OKTA_APP, idp.sso_url, idp.keys)
    with pytest.raises(services.SsoConfigurationError, match="is not a Microsoft Entra tenant"):
        _configure(organization, metadata_xml=okta)


def test_an_okta_org_issuer_accepts_an_app_signing_on_at_that_org(organization, idp):
    org_services.set_sso_issuer(organization, "https://clinic.okta.com", kind="okta", actor=None)
    okta = metadata_xml(OKTA_APP, "https://clinic.okta.com/app/kno2fy/exk1/sso/saml", idp.keys)
    assert _configure(organization, metadata_xml=okta).idp_entity_id == OKTA_APP


def test_an_okta_org_issuer_refuses_an_app_of_another_okta_org(organization, idp):
    org_services.set_sso_issuer(organization, "https://clinic.okta.com", kind="okta", actor=None)
    okta = metadata_xml(OKTA_APP, "https://attacker.okta.com/app/kno2fy/exk1/sso/saml", idp.keys)
    with pytest.raises(services.SsoConfigurationError, match="not an Okta app of clinic.okta.com"):
        _configure(organization, metadata_xml=okta)


def test_any_saml_idp_is_accepted_when_its_entity_id_is_the_organizations(organization, idp):
    org_services.set_sso_issuer(
        organization, "https://idp.clinic.example/saml2/idp/metadata.php", kind="saml", actor=None
    )
    other = metadata_xml("https://idp.clinic.example/saml2/idp/metadata.php", idp.sso_url, idp.keys)
    assert _configure(organization, metadata_xml=other).idp_entity_id == (
        "https://idp.clinic.example/saml2/idp/metadata.php"
    )


def test_a_saml_idp_with_another_entity_id_is_refused(organization, idp):
    org_services.set_sso_issuer(organization, "urn:clinic:idp", kind="saml", actor=None)
    other = metadata_xml("https://idp.evil.example/", idp.sso_url, idp.keys)
    with pytest.raises(services.SsoConfigurationError, match="is not .*'s IdP entity id"):
        _configure(organization, metadata_xml=other)


def test_metadata_of_an_unknown_kind_of_idp_is_refused_for_an_entra_organization(organization, idp):
    other = metadata_xml("https://idp.evil.example/", idp.sso_url, idp.keys)
    with pytest.raises(services.SsoConfigurationError, match="is not a Microsoft Entra tenant"):
        _configure(organization, metadata_xml=other)


def test_metadata_without_a_signing_certificate_is_refused(organization, idp):
    with pytest.raises(services.SsoConfigurationError, match="no signing certificate"):
        _configure(organization, metadata_xml=metadata_xml(idp.entity_id, idp.sso_url, []))


def test_a_plain_http_metadata_url_off_loopback_is_refused(organization):
    with pytest.raises(services.SsoConfigurationError, match="must use https"):
        _configure(organization, metadata_url="http://login.microsoftonline.com/x/metadata")


@pytest.fixture
def misbehaving():
    server = MisbehavingServer()
    yield server
    server.stop()


def test_a_metadata_url_that_redirects_is_refused_not_followed(organization, idp, misbehaving):
    """Valid metadata first, a redirect later: the redirect would be followed anywhere."""
    misbehaving.redirect_to = idp.metadata_url
    with pytest.raises(services.SsoConfigurationError, match="redirects are not followed"):
        _configure(organization, metadata_url=f"{misbehaving.base}/redirect")
    assert not SsoConfiguration.objects.exists()


def test_a_metadata_server_dripping_bytes_is_cut_off_at_the_timeout(
    organization, misbehaving, settings
):
    settings.SSO_METADATA_TIMEOUT_SECONDS = 1
    started = time.monotonic()
    with pytest.raises(services.SsoConfigurationError, match="could not be fetched"):
        _configure(organization, metadata_url=f"{misbehaving.base}/drip")
    assert time.monotonic() - started < 10  # the whole drip takes 20 s


def test_metadata_on_loopback_is_refused_without_the_loopback_setting(organization, idp, settings):
    settings.OUTBOUND_ALLOW_LOOPBACK = False
    with pytest.raises(services.SsoConfigurationError, match="not allowed"):
        _configure(organization, metadata_url=idp.metadata_url)
    assert not SsoConfiguration.objects.exists()


def test_at_least_one_portal_group_is_required(organization, idp):
    with pytest.raises(services.SsoConfigurationError, match="at least one portal group"):
        services.configure_sso(
            organization, portal_groups=[" "], actor=None, metadata_url=idp.metadata_url
        )


def test_configuring_one_organization_leaves_another_untouched(
    organization, other_organization, idp
):
    _configure(organization, metadata_url=idp.metadata_url)
    assert not SsoConfiguration.objects.filter(organization=other_organization).exists()


@pytest.fixture
def rolling_idp(tmp_path):
    """An IdP about to roll its signing key: metadata lists the old key and the new one."""
    old, new = make_signing_key(tmp_path, "old"), make_signing_key(tmp_path, "new")
    server = TestIdp(tmp_path, factories.TENANT_A, keys=[old, new], signing_key=old).start()
    yield server, old, new
    server.stop()


def _sign_in_with(client, server, organization, key) -> str | None:
    request = flow.request_id(server, organization, flow.start(client, organization))
    flow.post(client, organization, server.response(organization, request, key=key))
    return flow.signed_in_as(client)


def test_during_a_rollover_both_listed_keys_verify(client, organization, rolling_idp, jordan):
    server, _old, new = rolling_idp
    _configure(organization, metadata_url=server.metadata_url)
    assert _sign_in_with(client, server, organization, new) == "jordan@contoso.com"


def test_after_a_refresh_a_key_the_metadata_dropped_no_longer_verifies(
    client, organization, rolling_idp, jordan
):
    server, old, new = rolling_idp
    _configure(organization, metadata_url=server.metadata_url)
    server.publish([new])
    call_command("refresh_sso_metadata")
    assert _sign_in_with(client, server, organization, old) is None


def test_a_refresh_adopts_a_key_the_idp_added(client, organization, idp, jordan, tmp_path):
    _configure(organization, metadata_url=idp.metadata_url)
    added = make_signing_key(tmp_path, "added")
    idp.publish([*idp.keys, added])
    call_command("refresh_sso_metadata", organization.slug)
    assert _sign_in_with(client, idp, organization, added) == "jordan@contoso.com"
    idp.publish(idp.keys)


def test_a_refresh_naming_another_idp_is_refused_and_the_old_metadata_stays(organization, idp):
    configuration = _configure(organization, metadata_url=idp.metadata_url)
    before = configuration.metadata_xml
    good = idp.metadata_document
    idp.metadata_document = metadata_xml(
        f"https://sts.windows.net/{factories.TENANT_B}/", idp.sso_url, idp.keys
    )
    try:
        with pytest.raises(SystemExit):
            call_command("refresh_sso_metadata")
    finally:
        idp.metadata_document = good
    configuration.refresh_from_db()
    assert configuration.metadata_xml == before
    assert "now names IdP" in configuration.metadata_refresh_error


def test_sp_metadata_names_our_entity_id_and_acs_url(client, organization, idp):
    _configure(organization, metadata_url=idp.metadata_url)
    sp = services.service_provider(organization)
    body = client.get(f"/sso/{organization.public_id}/metadata/").content.decode()
    assert f'entityID="{sp.entity_id}"' in body
    assert f'Location="{sp.acs_url}"' in body


def test_the_saml_constants_kept_to_avoid_importing_pysaml2_at_boot_are_pysaml2s():
    import saml2
    from saml2 import saml as saml_names

    from sso import saml

    assert (
        saml.BINDING_HTTP_POST,
        saml.BINDING_HTTP_REDIRECT,
        saml.NAMEID_FORMAT_EMAILADDRESS,
        saml.NAMEID_FORMAT_UNSPECIFIED,
    ) == (
        saml2.BINDING_HTTP_POST,
        saml2.BINDING_HTTP_REDIRECT,
        saml_names.NAMEID_FORMAT_EMAILADDRESS,
        saml_names.NAMEID_FORMAT_UNSPECIFIED,
    )
