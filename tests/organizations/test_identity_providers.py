"""An organization's identity provider is data (issue 18 item 1): Entra ID, Okta or any other
SAML 2.0 IdP, each parsed by its kind's rules, and provisioning for every kind once it is set."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import IntegrityError, transaction

from organizations import services
from organizations.identity import OKTA, SAML
from organizations.models import Organization
from tests import factories

OKTA_APP = "http://www.okta.com/exk1fcia6d6EMsf331d8"
SIMPLESAMLPHP = "http://127.0.0.1:18082/saml2/idp/metadata.php"


def test_an_okta_only_organization_can_be_created_with_provisioning_enabled(db):
    organization = services.create_organization(
        name="Okta Clinic",
        slug="okta-clinic",
        kind="okta",
        issuer=OKTA_APP,
        enable_provisioning=True,
    )
    organization.refresh_from_db()
    assert (organization.idp_kind, organization.sso_issuer, organization.provisioning_enabled) == (
        "okta",
        OKTA_APP,
        True,
    )


def test_an_organization_of_any_saml_idp_can_enable_provisioning(db, staff_user):
    organization = services.create_organization(
        name="Keycloak Clinic", slug="kc", kind="saml", issuer=SIMPLESAMLPHP
    )
    services.enable_provisioning_for(organization, actor=staff_user)
    organization.refresh_from_db()
    assert organization.provisioning_enabled


def test_an_okta_organization_has_no_entra_tenant(db):
    organization = services.create_organization(
        name="Okta Clinic", slug="okta-clinic", kind="okta", issuer=OKTA_APP
    )
    assert (organization.sso_tenant_id, organization.is_entra) == (None, False)


def test_the_database_refuses_provisioning_for_an_okta_organization_without_an_issuer(db):
    organization = services.create_organization(name="Okta", slug="okta", kind="okta")
    with pytest.raises(IntegrityError), transaction.atomic():
        Organization.objects.filter(pk=organization.pk).update(provisioning_enabled=True)


def test_the_database_refuses_an_entra_tenant_on_an_okta_connection(db):
    organization = services.create_organization(
        name="Okta Clinic", slug="okta-clinic", kind="okta", issuer=OKTA_APP
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        Organization.objects.filter(pk=organization.pk).update(sso_tenant_id=factories.TENANT_A)


@pytest.mark.parametrize(
    ("pasted", "stored"),
    [
        (OKTA_APP, OKTA_APP),
        ("https://clinic.okta.com", "https://clinic.okta.com"),
        ("https://Clinic.okta.com/oauth2/default/", "https://clinic.okta.com/oauth2/default"),
        ("https://clinic.oktapreview.com", "https://clinic.oktapreview.com"),
    ],
)
def test_okta_accepts_the_app_entity_id_or_the_org_issuer(pasted, stored):
    assert OKTA.parse(pasted).issuer == stored


@pytest.mark.parametrize(
    ("pasted", "reason"),
    [
        ("https://okta.com.evil.example", "not an Okta issuer"),
        ("https://a.b.okta.com", "not an Okta issuer"),
        ("http://clinic.okta.com", "uses https, not http"),
        (f"https://sts.windows.net/{factories.TENANT_A}/", "not an Okta issuer"),
        ("", "Enter the Identity Provider Issuer from Okta"),
    ],
)
def test_okta_refuses_other_values_saying_why(pasted, reason):
    with pytest.raises(ValidationError, match=reason):
        OKTA.parse(pasted)


@pytest.mark.parametrize(
    "entity_id",
    [SIMPLESAMLPHP, "https://accounts.google.com/o/saml2?idpid=C01abc", "urn:example:idp"],
)
def test_any_saml_idp_accepts_an_absolute_uri_or_urn_entity_id(entity_id):
    assert SAML.parse(entity_id).issuer == entity_id


@pytest.mark.parametrize(
    ("pasted", "reason"),
    [
        ("idp.example.org", "absolute URI"),
        ("ftp://idp.example.org/", "absolute URI"),
        ("https://idp.example.org/ x", "no spaces"),
        (f"https://sts.windows.net/{factories.TENANT_A}/", "choose the kind Microsoft Entra ID"),
    ],
)
def test_any_saml_idp_refuses_what_is_no_entity_id_saying_why(pasted, reason):
    with pytest.raises(ValidationError, match=reason):
        SAML.parse(pasted)


def test_set_issuer_takes_a_kind_and_prints_it(organization, capsys):
    call_command("set_issuer", organization.slug, OKTA_APP, "--kind", "okta")
    organization.refresh_from_db()
    assert (organization.idp_kind, organization.sso_issuer) == ("okta", OKTA_APP)
    assert f"{OKTA_APP} (Okta)" in capsys.readouterr().out


def test_set_issuer_keeps_the_kind_when_none_is_given(db):
    organization = services.create_organization(
        name="Okta Clinic", slug="okta-clinic", kind="okta", issuer=OKTA_APP
    )
    call_command("set_issuer", organization.slug, "https://clinic.okta.com")
    organization.refresh_from_db()
    assert (organization.idp_kind, organization.sso_issuer) == ("okta", "https://clinic.okta.com")


def test_create_organization_takes_a_kind(db, capsys):
    call_command(
        "create_organization",
        "--name",
        "Hill",
        "--slug",
        "hill",
        "--kind",
        "saml",
        "--issuer",
        SIMPLESAMLPHP,
        "--enable-provisioning",
    )
    organization = Organization.objects.get(slug="hill")
    assert (organization.idp_kind, organization.provisioning_enabled) == ("saml", True)
