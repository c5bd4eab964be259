"""The organization rules: the SSO issuer, and provisioning that needs it."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from organizations import services
from organizations.models import AuditRecord, Organization
from tests import factories

ISSUER = f"https://sts.windows.net/{factories.TENANT_B}/"


@pytest.fixture
def unconfigured(db) -> Organization:
    """An organization whose SSO issuer is not set yet."""
    return factories.make_organization(name="Hilltop Practice", slug="hilltop", tenant_id=None)


def test_enabling_provisioning_without_an_issuer_is_refused(unconfigured, staff_user):
    with pytest.raises(services.ProvisioningError, match="Set the SSO issuer"):
        services.enable_provisioning_for(unconfigured, actor=staff_user)
    unconfigured.refresh_from_db()
    assert not unconfigured.provisioning_enabled


def test_enabling_provisioning_with_an_issuer_records_who_and_when(unconfigured, staff_user):
    services.set_sso_issuer(unconfigured, ISSUER, actor=staff_user)
    services.enable_provisioning_for(unconfigured, actor=staff_user)
    unconfigured.refresh_from_db()
    assert unconfigured.provisioning_enabled
    assert unconfigured.provisioning_enabled_by == staff_user
    assert unconfigured.provisioning_enabled_at is not None


def test_database_refuses_provisioning_without_an_issuer(unconfigured):
    with pytest.raises(IntegrityError), transaction.atomic():
        Organization.objects.filter(pk=unconfigured.pk).update(provisioning_enabled=True)


def test_creating_with_provisioning_but_no_issuer_creates_nothing(db):
    with pytest.raises(services.ProvisioningError):
        services.create_organization(name="Nope", slug="nope", enable_provisioning=True)
    assert not Organization.objects.filter(slug="nope").exists()


def test_issuer_is_stored_as_its_normalised_tenant(unconfigured, staff_user):
    upper = f"https://sts.windows.net/{factories.TENANT_B.upper()}/"
    services.set_sso_issuer(unconfigured, upper, actor=staff_user)
    unconfigured.refresh_from_db()
    assert str(unconfigured.sso_tenant_id) == factories.TENANT_B
    assert unconfigured.sso_issuer == ISSUER


def test_clearing_the_issuer_is_refused_while_provisioning_is_enabled(organization, staff_user):
    with pytest.raises(services.ProvisioningError, match="Disable provisioning"):
        services.set_sso_issuer(organization, "", actor=staff_user)


def test_clearing_the_issuer_after_disabling_provisioning_works(organization, staff_user):
    services.disable_provisioning_for(organization, actor=staff_user)
    services.set_sso_issuer(organization, "", actor=staff_user)
    organization.refresh_from_db()
    assert organization.sso_issuer == ""


def test_disabling_provisioning_rejects_tokens_at_once_and_deletes_nothing(
    organization, token, staff_user
):
    row, plaintext = token
    services.disable_provisioning_for(organization, actor=staff_user)
    assert services.authenticate_token(organization.public_id, plaintext) is None
    row.refresh_from_db()
    assert row.is_active


def test_enabling_again_restores_the_active_tokens(organization, token, staff_user):
    _, plaintext = token
    services.disable_provisioning_for(organization, actor=staff_user)
    services.enable_provisioning_for(organization, actor=staff_user)
    assert services.authenticate_token(organization.public_id, plaintext) is not None


def test_renaming_keeps_the_tenant_url(organization, staff_user):
    before = organization.scim_base_url
    services.update_organization(
        organization, name="Riverside Health", slug="riverside-health", actor=staff_user
    )
    organization.refresh_from_db()
    assert organization.scim_base_url == before


@pytest.mark.parametrize(
    ("change", "action"),
    [
        (
            lambda org, user: services.set_sso_issuer(org, ISSUER, actor=user),
            "issuer_set",
        ),
        (
            lambda org, user: services.disable_provisioning_for(org, actor=user),
            "provisioning_disabled",
        ),
        (
            lambda org, user: services.update_organization(
                org, name="Renamed", slug=org.slug, actor=user
            ),
            "organization_updated",
        ),
        (lambda org, user: services.issue_token(org, actor=user), "token_issued"),
    ],
)
def test_each_staff_change_leaves_an_audit_record(organization, staff_user, change, action):
    change(organization, staff_user)
    record = AuditRecord.objects.filter(organization=organization).first()
    assert (record.action, record.actor, record.actor_name) == (
        action,
        staff_user,
        staff_user.username,
    )


def test_an_unchanged_value_leaves_no_audit_record(organization, staff_user):
    count = AuditRecord.objects.count()
    services.set_sso_issuer(organization, organization.sso_issuer, actor=staff_user)
    services.enable_provisioning_for(organization, actor=staff_user)
    assert AuditRecord.objects.count() == count


def test_a_command_actor_is_named_in_the_audit_record(organization):
    services.disable_provisioning_for(organization, actor="manage.py disable_provisioning (ops)")
    record = AuditRecord.objects.filter(organization=organization).first()
    assert record.actor is None
    assert record.actor_name == "manage.py disable_provisioning (ops)"


def test_issuer_error_from_the_service_explains_the_problem(organization, staff_user):
    with pytest.raises(ValidationError, match="trailing slash"):
        services.set_sso_issuer(organization, ISSUER.rstrip("/"), actor=staff_user)
