"""The staff management commands, through ``call_command`` with captured output."""

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from organizations import services
from organizations.issuers import PERSONAL_ACCOUNTS_TENANT
from organizations.models import AuditRecord, Organization
from tests import factories
from tests.factories import TOKEN_PATTERN

ISSUER = f"https://sts.windows.net/{factories.TENANT_B}/"


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.mark.parametrize(
    "command",
    [
        "create_organization",
        "issue_token",
        "revoke_token",
        "rotate_token",
        "set_issuer",
        "enable_provisioning",
        "disable_provisioning",
        "list_tokens",
        "bootstrap_demo",
    ],
)
def test_every_command_explains_itself_in_help(command, capsys):
    with pytest.raises(SystemExit):
        call_command(command, "--help")
    assert len(capsys.readouterr().out) > 300


def test_create_organization_prints_the_tenant_url(db):
    out = run(
        "create_organization",
        "--name",
        "Bay Clinic",
        "--slug",
        "bay",
        "--issuer",
        ISSUER,
        "--enable-provisioning",
    )
    organization = Organization.objects.get(slug="bay")
    assert organization.provisioning_enabled
    assert organization.scim_base_url in out


def test_create_organization_is_audited_as_the_command(db):
    run("create_organization", "--name", "Bay Clinic", "--slug", "bay")
    record = AuditRecord.objects.get(action="organization_created")
    assert record.actor_name.startswith("manage.py create_organization (")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--enable-provisioning"], "Set the SSO issuer"),
        (["--issuer", "https://sts.windows.net/nope/"], "is not a directory"),
        (["--slug", "riverside"], "slug: Organization with this Slug already exists."),
    ],
)
def test_create_organization_refuses_with_a_clear_message(organization, args, message):
    options = {"--name": "Bay Clinic", "--slug": "bay"}
    with pytest.raises(CommandError, match=message):
        run("create_organization", *[x for kv in options.items() for x in kv], *args)


def test_issue_token_prints_the_tenant_url_and_a_working_token(organization):
    out = run("issue_token", "riverside", "--label", "Azure AD")
    plaintext = TOKEN_PATTERN.search(out)[0]
    assert organization.scim_base_url in out
    assert services.authenticate_token(organization.public_id, plaintext) is not None


def test_issue_token_json_is_exactly_one_object(organization):
    data = json.loads(run("issue_token", "riverside", "--json", "--expires-days", "30"))
    assert set(data) == {"tenant_url", "token", "expires_at"}
    assert data["tenant_url"] == organization.scim_base_url
    token = services.authenticate_token(organization.public_id, data["token"])
    assert data["expires_at"] == token.expires_at.isoformat()


def test_issue_token_json_stays_clean_when_provisioning_is_disabled(organization):
    services.disable_provisioning_for(organization, actor=None)
    err = StringIO()
    out = StringIO()
    call_command("issue_token", "riverside", "--json", stdout=out, stderr=err)
    assert json.loads(out.getvalue())["token"]
    assert "provisioning is disabled" in err.getvalue()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nowhere"], "No organization has the slug 'nowhere'"),
        (["riverside", "--expires-days", "0"], "at least one day"),
        (["riverside", "--expires-days", "999999999"], "at most 3650 days"),
    ],
)
def test_issue_token_refuses_with_a_clear_message(organization, args, message):
    with pytest.raises(CommandError, match=message):
        run("issue_token", *args)


def test_revoke_token_by_listed_prefix(organization, token):
    row, plaintext = token
    out = run("revoke_token", row.display_prefix)
    assert f"Revoked {row.display_prefix}" in out
    assert services.authenticate_token(organization.public_id, plaintext) is None


def test_revoke_all_revokes_every_token_of_the_organization(organization, other_organization):
    factories.make_token(organization)
    factories.make_token(organization)
    kept, _ = factories.make_token(other_organization)
    out = run("revoke_token", "--all", "riverside")
    assert "2 token(s) revoked" in out
    assert organization.tokens.active().count() == 0
    assert other_organization.tokens.active().get() == kept


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["k2p_AAAAAAAAAAAA"], "No token has the key AAAAAAAAAAAA"),
        (["k2p_short"], "not a token reference"),
    ],
)
def test_revoke_token_refuses_an_unknown_token(db, args, message):
    with pytest.raises(CommandError, match=message):
        run("revoke_token", *args)


def test_rotate_token_prints_a_new_token_and_when_the_old_lapses(organization, token):
    old, old_plaintext = token
    data = json.loads(run("rotate_token", old.display_prefix, "--json", "--grace-days", "3"))
    new = services.authenticate_token(organization.public_id, data["token"])
    assert new is not None and new != old
    assert services.authenticate_token(organization.public_id, old_plaintext) == old
    old.refresh_from_db()
    assert data["previous_token_expires_at"] == old.expires_at.isoformat()


def test_set_issuer_normalises_and_prints_it(organization):
    out = run("set_issuer", "riverside", f"https://sts.windows.net/{factories.TENANT_B.upper()}/")
    assert ISSUER in out


def test_set_issuer_refuses_a_personal_account_tenant(organization):
    with pytest.raises(CommandError, match="personal Microsoft accounts"):
        run("set_issuer", "riverside", f"https://sts.windows.net/{PERSONAL_ACCOUNTS_TENANT}/")


def test_enable_provisioning_command_refuses_without_an_issuer(db):
    factories.make_organization(slug="hilltop", tenant_id=None)
    with pytest.raises(CommandError, match="Set the SSO issuer"):
        run("enable_provisioning", "hilltop")


def test_disable_provisioning_command_disables(organization):
    run("disable_provisioning", "riverside")
    organization.refresh_from_db()
    assert not organization.provisioning_enabled


def test_list_tokens_never_prints_a_secret(organization, token):
    row, plaintext = token
    out = run("list_tokens", "riverside")
    assert row.display_prefix in out
    assert plaintext[17:] not in out
    assert row.digest not in out


def test_set_issuer_clear_is_refused_while_provisioning_is_enabled(organization):
    with pytest.raises(CommandError, match="Disable provisioning before clearing"):
        run("set_issuer", "riverside", "--clear")


def test_set_issuer_clear_removes_the_issuer(organization):
    run("disable_provisioning", "riverside")
    assert "not set" in run("set_issuer", "riverside", "--clear")


@pytest.mark.parametrize("command", ["list_tokens", "enable_provisioning", "set_issuer"])
def test_an_unknown_slug_is_a_clear_error(db, command):
    with pytest.raises(CommandError, match="No organization has the slug 'nowhere'"):
        run(command, "nowhere", *([ISSUER] if command == "set_issuer" else []))
