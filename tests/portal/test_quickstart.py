"""The first minutes: ``/``, ``bootstrap_demo`` and the demo history it replays."""

from __future__ import annotations

import json
import time
from io import StringIO

import pyotp
import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from organizations import services
from organizations.models import Organization
from portal import services as services_portal
from portal.models import Operation, SyncEvent
from scim.models import ScimUser
from tests import factories

JSON_KEYS = {
    "admin_url",
    "staff_username",
    "staff_password",
    "portal_url",
    "tenant_admin_username",
    "tenant_admin_password",
    "organization",
    "tenant_url",
    "token",
}


@pytest.fixture
def demo_settings(settings):
    settings.DEBUG = True
    # The replay talks to the tenant URL on PUBLIC_BASE_URL's host.
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "provisioning.kno2.test"]


def bootstrap(*args: str) -> str:
    out = StringIO()
    call_command("bootstrap_demo", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def bootstrap_json() -> dict:
    return json.loads(bootstrap("--json"))


def test_bootstrap_demo_json_is_one_object_with_every_documented_key(db, demo_settings):
    result = bootstrap_json()
    assert set(result) >= JSON_KEYS
    assert result["admin_url"] == "https://provisioning.kno2.test/admin/"
    assert result["portal_url"] == "https://provisioning.kno2.test/portal/o/demo/"


def test_the_staff_login_of_bootstrap_demo_opens_the_admin(db, demo_settings, client):
    result = bootstrap_json()
    assert factories.sign_in(
        client,
        "/admin/login/",
        result["staff_username"],
        result["staff_password"],
        otp_token=result["staff_totp_code"],
    )


def test_the_tenant_admin_of_bootstrap_demo_sees_the_demo_dashboard(db, demo_settings, client):
    result = bootstrap_json()
    assert factories.sign_in(
        client, "/portal/login/", result["tenant_admin_username"], result["tenant_admin_password"]
    )
    response = client.get("/portal/o/demo/")
    assert response.status_code == 200
    assert "Demo Clinic" in response.content.decode()


def test_the_demo_tenant_admin_sees_no_other_organization(
    db, demo_settings, client, other_organization
):
    result = bootstrap_json()
    factories.sign_in(
        client, "/portal/login/", result["tenant_admin_username"], result["tenant_admin_password"]
    )
    assert client.get(f"/portal/o/{other_organization.slug}/").status_code == 404


def test_the_token_of_bootstrap_demo_authenticates_at_its_tenant_url(db, demo_settings):
    result = bootstrap_json()
    organization = Organization.objects.get(slug="demo")
    assert result["tenant_url"] == organization.scim_base_url
    assert services.authenticate_token(organization.public_id, result["token"])


def test_bootstrap_demo_replays_an_azure_initial_cycle_through_the_scim_endpoint(db, demo_settings):
    bootstrap_json()
    organization = Organization.objects.get(slug="demo")
    events = SyncEvent.objects.for_organization(organization)
    assert events.filter(operation=Operation.TEST_CONNECTION, succeeded=True).count() == 1
    assert ScimUser.objects.filter(organization=organization).count() == 8
    assert events.filter(operation=Operation.CREATE_USER, succeeded=True).count() == 8
    assert events.filter(operation=Operation.DEACTIVATE_USER, succeeded=True).count() == 1


def test_the_demo_history_holds_the_typical_failures(db, demo_settings):
    bootstrap_json()
    failures = SyncEvent.objects.filter(organization__slug="demo", succeeded=False)
    assert sorted(failures.values_list("status_code", "error_type")) == [
        (400, "invalidValue"),
        (400, "invalidValue"),
        (409, "uniqueness"),
    ]
    # The stale token is refused and only counted, never written to the history.
    demo = Organization.objects.get(slug="demo")
    assert services_portal.failed_authentications(demo, hours=1) == 1


def test_rerunning_bootstrap_demo_says_the_previous_token_was_revoked(db, demo_settings):
    first = bootstrap_json()
    second_text = bootstrap()
    organization = Organization.objects.get(slug="demo")
    assert services.authenticate_token(organization.public_id, first["token"]) is None
    prefix = f"k2p_{first['token'].split('_')[1]}…"
    assert f"Revoked the previous demo token {prefix}" in second_text


def test_rerunning_bootstrap_demo_keeps_one_demo_history(db, demo_settings):
    bootstrap_json()
    events = SyncEvent.objects.filter(organization__slug="demo").count()
    bootstrap_json()
    assert SyncEvent.objects.filter(organization__slug="demo").count() == events
    assert get_user_model().objects.filter(username="demo.admin").count() == 1


def test_rerunning_bootstrap_demo_invalidates_the_previous_passwords(db, demo_settings, client):
    first = bootstrap_json()
    bootstrap_json()
    assert not factories.sign_in(client, "/admin/login/", "admin", first["staff_password"])
    assert not factories.sign_in(
        client, "/portal/login/", "demo.admin", first["tenant_admin_password"]
    )


def test_bootstrap_demo_prints_a_totp_secret_an_authenticator_app_can_use(
    db, demo_settings, client
):
    result = bootstrap_json()
    code = pyotp.TOTP(result["staff_totp_secret"]).at(time.time() + 30)
    assert factories.sign_in(
        client, "/admin/login/", "admin", result["staff_password"], otp_token=code
    )


def test_bootstrap_demo_prints_a_recovery_code_that_works_once(db, demo_settings, client):
    from django.test import Client

    result = bootstrap_json()
    password, recovery = result["staff_password"], result["staff_recovery_code"]
    assert factories.sign_in(client, "/admin/login/", "admin", password, otp_token=recovery)
    assert not factories.sign_in(Client(), "/admin/login/", "admin", password, otp_token=recovery)


def test_rerunning_bootstrap_demo_replaces_the_first_totp_secret(db, demo_settings, client):
    first = bootstrap_json()
    second = bootstrap_json()
    code = pyotp.TOTP(first["staff_totp_secret"]).now()
    assert not factories.sign_in(
        client, "/admin/login/", "admin", second["staff_password"], otp_token=code
    )


def test_bootstrap_demo_refuses_without_debug(db):
    with pytest.raises(CommandError, match="DEBUG=true"):
        bootstrap()
    assert not Organization.objects.exists()


def test_the_root_sends_an_anonymous_visitor_to_the_portal_sign_in(client, db):
    response = client.get("/", follow=True)
    assert response.redirect_chain[-1][0].startswith("/portal/login/")


def test_the_root_sends_staff_to_the_admin(client, staff_user):
    client.force_login(staff_user)
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/admin/"


def test_the_root_sends_a_tenant_admin_to_their_dashboard(tenant_client, organization):
    response = tenant_client.get("/", follow=True)
    assert response.redirect_chain[-1][0] == f"/portal/o/{organization.slug}/"


def test_bootstrap_demo_prints_the_logins_last(db, demo_settings):
    text = bootstrap()

    last_lines = text.rstrip().splitlines()[-3:]
    assert last_lines[0].startswith("Portal (tenant admin): ")
    assert last_lines[1].split() == ["Login:", "demo.admin"]
    assert text.index("Secret Token:") < text.index("Admin (Kno2 staff):")


def test_the_demo_replay_logs_no_warnings_that_look_like_setup_errors(db, demo_settings, caplog):
    import logging

    with caplog.at_level(logging.WARNING):
        bootstrap()

    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
