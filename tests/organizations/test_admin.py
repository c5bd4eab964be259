"""The staff admin, driven through the Django test client."""

import re

import pytest
from django.contrib.sessions.models import Session
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from organizations import services
from organizations.models import Organization
from tests import factories
from tests.factories import TOKEN_PATTERN

ISSUER = f"https://sts.windows.net/{factories.TENANT_B}/"


@pytest.fixture
def staff_client(client, staff_user):
    return factories.staff_sign_in(client, staff_user)


@pytest.fixture
def unconfigured(db) -> Organization:
    return factories.make_organization(name="Hilltop Practice", slug="hilltop", tenant_id=None)


def _url(name: str, *args) -> str:
    return reverse(f"admin:organizations_organization_{name}", args=args)


def _change_data(organization: Organization, **overrides) -> dict:
    data = {
        "name": organization.name,
        "slug": organization.slug,
        "sso_issuer": organization.sso_issuer,
        "self_service_enabled": "on" if organization.self_service_enabled else "",
        "tokens-TOTAL_FORMS": "0",
        "tokens-INITIAL_FORMS": "0",
        "tokens-MIN_NUM_FORMS": "0",
        "tokens-MAX_NUM_FORMS": "0",
        "oauth_clients-TOTAL_FORMS": "0",
        "oauth_clients-INITIAL_FORMS": "0",
        "oauth_clients-MIN_NUM_FORMS": "0",
        "oauth_clients-MAX_NUM_FORMS": "0",
    }
    return {**data, **overrides}


def _issue(client, organization, *, follow=False, **data):
    return client.post(
        _url("issue_token", organization.pk),
        {"label": "Azure AD", "expires_days": "365", **data},
        follow=follow,
    )


def _shown_token(response) -> str | None:
    match = TOKEN_PATTERN.search(response.content.decode())
    return match[0] if match else None


# -- the organization list -------------------------------------------------------------


def test_list_shows_provisioning_issuer_active_tokens_and_token_expiry(
    staff_client, organization, token
):
    response = staff_client.get(reverse("admin:organizations_organization_changelist"))
    row = response.context["cl"].result_list.get(pk=organization.pk)
    assert (row.active_token_count, row.latest_token_expiry) == (1, token[0].expires_at)
    assert organization.sso_issuer in response.content.decode()


def test_list_costs_the_same_queries_for_many_organizations(staff_client, organization):
    url = reverse("admin:organizations_organization_changelist")
    factories.make_token(organization)
    with CaptureQueriesContext(connection) as few:
        staff_client.get(url)
    for _ in range(5):
        factories.make_token(factories.make_organization())
    with CaptureQueriesContext(connection) as many:
        staff_client.get(url)
    assert len(many) == len(few)


@pytest.mark.parametrize("term", ["riverside", "Riverside Clinic", factories.TENANT_A[:8]])
def test_search_finds_an_organization(staff_client, organization, other_organization, term):
    response = staff_client.get(reverse("admin:organizations_organization_changelist"), {"q": term})
    assert list(response.context["cl"].result_list) == [organization]


def test_search_by_public_id_finds_an_organization(staff_client, organization, other_organization):
    response = staff_client.get(
        reverse("admin:organizations_organization_changelist"), {"q": str(organization.public_id)}
    )
    assert list(response.context["cl"].result_list) == [organization]


# -- the change form and the issuer ----------------------------------------------------


def test_adding_an_organization_goes_through_the_audited_service(staff_client, staff_user):
    response = staff_client.post(
        reverse("admin:organizations_organization_add"),
        {"name": "New Clinic", "slug": "new-clinic", "sso_issuer": ISSUER},
    )
    assert response.status_code == 302
    organization = Organization.objects.get(slug="new-clinic")
    assert organization.sso_issuer == ISSUER
    assert set(organization.audit_records.values_list("action", "actor")) == {
        ("organization_created", staff_user.pk),
        ("issuer_set", staff_user.pk),
    }


def test_change_form_sets_the_issuer_normalised_and_audited(staff_client, unconfigured):
    upper = f"https://sts.windows.net/{factories.TENANT_B.upper()}/"
    response = staff_client.post(
        _url("change", unconfigured.pk), _change_data(unconfigured, sso_issuer=upper)
    )
    assert response.status_code == 302
    unconfigured.refresh_from_db()
    assert unconfigured.sso_issuer == ISSUER
    assert unconfigured.audit_records.filter(action="issuer_set").exists()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (f"http://sts.windows.net/{factories.TENANT_B}/", "must use https"),
        (f"https://sts.windows.net/{factories.TENANT_B}", "missing its trailing slash"),
        ("https://sts.windows.net/9188040d-6c67-4c5b-b112-36a304b66dad/", "personal Microsoft"),
    ],
)
def test_change_form_explains_a_bad_issuer(staff_client, unconfigured, value, message):
    response = staff_client.post(
        _url("change", unconfigured.pk), _change_data(unconfigured, sso_issuer=value)
    )
    assert response.status_code == 200
    assert message in " ".join(response.context["adminform"].form.errors["sso_issuer"])


def test_change_form_refuses_to_clear_the_issuer_while_provisioning(staff_client, organization):
    response = staff_client.post(
        _url("change", organization.pk), _change_data(organization, sso_issuer="")
    )
    assert "Disable provisioning before clearing" in response.content.decode()
    organization.refresh_from_db()
    assert organization.sso_issuer


def test_organizations_cannot_be_deleted_in_the_admin(staff_client, organization):
    response = staff_client.get(_url("delete", organization.pk))
    assert response.status_code == 403


# -- enabling and disabling provisioning ----------------------------------------------


def test_enable_page_refuses_without_an_issuer(staff_client, unconfigured):
    response = staff_client.post(_url("enable_provisioning", unconfigured.pk), follow=True)
    assert "Set the SSO issuer of Hilltop Practice" in response.content.decode()
    unconfigured.refresh_from_db()
    assert not unconfigured.provisioning_enabled


def test_enable_page_enables_with_an_issuer(staff_client, unconfigured, staff_user):
    services.set_sso_issuer(unconfigured, ISSUER, actor=staff_user)
    staff_client.post(_url("enable_provisioning", unconfigured.pk))
    unconfigured.refresh_from_db()
    assert unconfigured.provisioning_enabled_by == staff_user


def test_enable_page_asks_before_acting(staff_client, unconfigured):
    response = staff_client.get(_url("enable_provisioning", unconfigured.pk))
    assert response.status_code == 200
    unconfigured.refresh_from_db()
    assert not unconfigured.provisioning_enabled


def test_disable_page_disables_and_audits(staff_client, organization, staff_user):
    staff_client.post(_url("disable_provisioning", organization.pk))
    organization.refresh_from_db()
    assert not organization.provisioning_enabled
    assert organization.audit_records.filter(
        action="provisioning_disabled", actor=staff_user
    ).exists()


def test_enable_action_reports_organizations_without_an_issuer(
    staff_client, unconfigured, organization
):
    services.disable_provisioning_for(organization, actor=None)
    response = staff_client.post(
        reverse("admin:organizations_organization_changelist"),
        {"action": "enable_provisioning", "_selected_action": [unconfigured.pk, organization.pk]},
        follow=True,
    )
    text = response.content.decode()
    assert "Set the SSO issuer of Hilltop Practice" in text
    assert "Provisioning enabled for 1 organization(s)." in text
    organization.refresh_from_db()
    assert organization.provisioning_enabled


# -- issuing a token: shown once ------------------------------------------------------


def test_issuing_shows_the_token_and_tenant_url_once(staff_client, organization):
    response = _issue(staff_client, organization, follow=True)
    plaintext = _shown_token(response)
    assert services.authenticate_token(organization.public_id, plaintext) is not None
    assert organization.scim_base_url in response.content.decode()
    assert "quarantines the job" in response.content.decode()


def test_reloading_the_token_page_does_not_show_it_again(staff_client, organization):
    page = _issue(staff_client, organization)["Location"]
    assert _shown_token(staff_client.get(page)) is not None
    again = staff_client.get(page)
    assert _shown_token(again) is None
    assert "has already been shown" in again.content.decode()


def test_token_page_is_never_cached(staff_client, organization):
    response = _issue(staff_client, organization, follow=True)
    assert "no-store" in response["Cache-Control"]


def test_token_waiting_to_be_shown_is_not_readable_from_the_database(staff_client, organization):
    page = _issue(staff_client, organization)["Location"]
    stored = "\n".join(repr(s.get_decoded()) + s.session_data for s in Session.objects.all())
    plaintext = _shown_token(staff_client.get(page))
    assert plaintext[17:] not in stored


def test_one_staff_members_token_is_not_shown_to_another(client, organization, staff_user):
    factories.staff_sign_in(client, staff_user)
    page = _issue(client, organization)["Location"]
    factories.staff_sign_in(client, factories.make_staff())
    assert _shown_token(client.get(page)) is None


def test_issue_refuses_a_third_active_token(staff_client, organization, token):
    factories.make_token(organization)
    response = _issue(staff_client, organization)
    assert response.status_code == 200
    assert "already has 2 active tokens" in response.content.decode()


@pytest.mark.parametrize("days", ["0", "100000", "soon"])
def test_issue_form_rejects_a_bad_expiry(staff_client, organization, days):
    response = _issue(staff_client, organization, expires_days=days)
    assert response.status_code == 200
    assert not organization.tokens.exists()


def test_issuing_is_audited_with_the_staff_member(staff_client, organization, staff_user):
    _issue(staff_client, organization)
    record = organization.audit_records.get(action="token_issued")
    assert record.actor == staff_user
    assert record.detail["label"] == "Azure AD"


def test_token_pages_need_a_staff_login(client, organization):
    response = client.get(_url("issue_token", organization.pk))
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


# -- rotating and revoking -------------------------------------------------------------


def test_rotating_shows_the_new_token_once_and_keeps_the_old_in_grace(
    staff_client, organization, token
):
    old, old_plaintext = token
    response = staff_client.post(
        _url("rotate_token", organization.pk, old.pk), {"expires_days": "365"}, follow=True
    )
    new_plaintext = _shown_token(response)
    assert new_plaintext != old_plaintext
    assert services.authenticate_token(organization.public_id, new_plaintext) is not None
    assert services.authenticate_token(organization.public_id, old_plaintext) == old


def test_revoke_page_revokes_the_token(staff_client, organization, token, staff_user):
    row, plaintext = token
    staff_client.post(_url("revoke_token", organization.pk, row.pk))
    row.refresh_from_db()
    assert row.revoked_by == staff_user
    assert services.authenticate_token(organization.public_id, plaintext) is None


def test_token_of_another_organization_is_not_found_under_this_one(
    staff_client, organization, other_organization, token
):
    row, _ = token
    response = staff_client.post(_url("revoke_token", other_organization.pk, row.pk))
    assert response.status_code == 404


def test_revoke_selected_tokens_action(staff_client, organization, staff_user):
    first, _ = factories.make_token(organization)
    second, _ = factories.make_token(organization)
    staff_client.post(
        reverse("admin:organizations_provisioningtoken_changelist"),
        {"action": "revoke_selected", "_selected_action": [first.pk, second.pk]},
    )
    assert organization.tokens.active().count() == 0
    assert organization.audit_records.filter(action="token_revoked").count() == 2


def test_token_admin_cannot_add_change_or_delete(staff_client, token):
    row, _ = token
    assert staff_client.get(reverse("admin:organizations_provisioningtoken_add")).status_code == 403
    delete = reverse("admin:organizations_provisioningtoken_delete", args=[row.pk])
    assert staff_client.get(delete).status_code == 403
    changelist = staff_client.get(reverse("admin:organizations_provisioningtoken_changelist"))
    assert "delete_selected" not in changelist.content.decode()


@pytest.mark.parametrize(
    ("url", "shows"),
    [
        (lambda org, row: _url("change", org.pk), "k2p_{key}"),
        (lambda org, row: reverse("admin:organizations_provisioningtoken_changelist"), "k2p_{key}"),
        (
            lambda org, row: reverse("admin:organizations_provisioningtoken_change", args=[row.pk]),
            "k2p_{key}",
        ),
        (lambda org, row: reverse("admin:organizations_auditrecord_changelist"), "Token issued"),
    ],
)
def test_no_admin_page_shows_a_secret_or_digest(staff_client, organization, token, url, shows):
    row, plaintext = token
    text = staff_client.get(url(organization, row)).content.decode()
    assert shows.format(key=row.key) in text
    assert plaintext[17:] not in text
    assert row.digest not in text
    assert not re.search(r"\bdigest\b", text, re.IGNORECASE)


def test_token_search_by_listed_prefix_finds_the_token(staff_client, organization, token):
    row, _ = token
    factories.make_token(organization)
    response = staff_client.get(
        reverse("admin:organizations_provisioningtoken_changelist"), {"q": row.display_prefix}
    )
    assert list(response.context["cl"].result_list) == [row]


# -- the audit log ---------------------------------------------------------------------


def test_audit_log_is_readable_and_read_only(staff_client, organization):
    record = organization.audit_records.first()
    changelist = staff_client.get(reverse("admin:organizations_auditrecord_changelist"))
    assert changelist.status_code == 200
    assert staff_client.get(reverse("admin:organizations_auditrecord_add")).status_code == 403
    change = staff_client.post(
        reverse("admin:organizations_auditrecord_change", args=[record.pk]),
        {"actor_name": "someone else"},
    )
    assert change.status_code == 403
    assert (
        staff_client.get(
            reverse("admin:organizations_auditrecord_delete", args=[record.pk])
        ).status_code
        == 403
    )


def test_audit_log_filters_by_organization(staff_client, organization, other_organization):
    response = staff_client.get(
        reverse("admin:organizations_auditrecord_changelist"),
        {"organization__id__exact": organization.pk},
    )
    assert {r.organization_id for r in response.context["cl"].result_list} == {organization.pk}


def test_debug_error_page_never_shows_the_token(
    client, staff_user, organization, settings, monkeypatch
):
    factories.staff_sign_in(client, staff_user)
    page = _issue(client, organization)["Location"]
    shown = []

    def broken_render(request, template, context):
        shown.append(context["plaintext"])
        raise RuntimeError("template exploded")

    settings.DEBUG = True
    monkeypatch.setattr("organizations.views.render", broken_render)
    client.raise_request_exception = False
    response = client.get(page)
    assert response.status_code == 500
    assert "Rendering the token page failed" in response.content.decode()
    assert shown[0][17:] not in response.content.decode()


def test_audit_log_shows_a_rename_as_old_and_new(staff_client, organization, staff_user):
    services.update_organization(
        organization, name="Riverside Health", slug="riverside", actor=staff_user
    )
    response = staff_client.get(reverse("admin:organizations_auditrecord_changelist"))
    assert "name: Riverside Clinic → Riverside Health" in response.content.decode()


OKTA_APP = "http://www.okta.com/exk1fcia6d6EMsf331d8"


def test_the_organization_form_saves_an_okta_connection(staff_client, organization):
    response = staff_client.post(
        _url("change", organization.pk),
        _change_data(organization, idp_kind="okta", sso_issuer=OKTA_APP),
    )
    assert response.status_code == 302
    organization.refresh_from_db()
    assert (organization.idp_kind, organization.sso_issuer) == ("okta", OKTA_APP)


def test_the_organization_form_explains_an_issuer_wrong_for_its_kind(staff_client, organization):
    response = staff_client.post(
        _url("change", organization.pk),
        _change_data(organization, idp_kind="okta", sso_issuer="https://idp.example.org/"),
    )
    assert "This is not an Okta issuer or app entity id." in response.content.decode()
    organization.refresh_from_db()
    assert organization.idp_kind == "entra"


def test_changing_the_identity_provider_warns_staff_that_the_old_one_is_no_longer_trusted(
    staff_client, organization
):
    response = staff_client.post(
        _url("change", organization.pk),
        _change_data(organization, sso_issuer=f"https://sts.windows.net/{factories.TENANT_B}/"),
        follow=True,
    )
    assert "the previous one is no longer trusted" in response.content.decode()
