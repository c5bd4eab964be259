from __future__ import annotations

import csv
import html
import io
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from portal import services
from scim.calls import Operation

from .conftest import PASSWORD, make_tenant_admin, record

pytestmark = pytest.mark.django_db


def _csv(response) -> list[dict]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(body)))


def test_portal_pages_require_sign_in(client, organization):
    response = client.get(reverse("portal:dashboard", args=[organization.slug]))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("portal:login"))


def test_a_tenant_admin_signs_in_and_lands_on_their_dashboard(client, tenant_admin, organization):
    response = client.post(
        reverse("portal:login"),
        {"username": tenant_admin.username, "password": PASSWORD},
        follow=True,
    )

    assert response.redirect_chain[-1][0] == reverse("portal:dashboard", args=[organization.slug])
    assert organization.name in response.text


def test_the_dashboard_shows_health_counts_tenant_url_and_chart(tenant_client, organization, token):
    record(organization, operation=Operation.CREATE_USER, status_code=201)
    record(organization, operation=Operation.CREATE_USER, status_code=409, subject="dup@x.test")

    response = tenant_client.get(reverse("portal:dashboard", args=[organization.slug]))

    assert response.status_code == 200
    assert organization.scim_base_url in response.text
    assert '<svg class="chart"' in response.text
    assert "dup@x.test" in response.text
    assert token[1] not in response.text


def test_the_dashboard_counts_requests_with_an_invalid_token_apart(
    tenant_client, organization, other_organization
):
    for _ in range(312):
        services.count_failed_authentication(organization.public_id, at=timezone.now())
    services.count_failed_authentication(other_organization.public_id, at=timezone.now())

    response = tenant_client.get(reverse("portal:dashboard", args=[organization.slug]))

    assert (
        "312 requests with an invalid token in the last 24 h — if Azure's Test Connection "
        "fails, check the token"
    ) in html.unescape(response.text)


def test_a_tenant_admin_of_two_organizations_can_switch(client, organization, other_organization):
    user = make_tenant_admin(organization)
    services.set_memberships(user, [organization, other_organization], actor=None)
    client.force_login(user)

    listing = client.get(reverse("portal:home"))
    switched = client.get(reverse("portal:home"), {"org": other_organization.slug})

    assert 'id="org-switcher"' in listing.text
    assert switched["Location"] == reverse("portal:dashboard", args=[other_organization.slug])


def test_the_switcher_cannot_reach_another_organization(tenant_client, other_organization):
    response = tenant_client.get(reverse("portal:home"), {"org": other_organization.slug})

    assert response.status_code == 404


@pytest.mark.parametrize(
    "name",
    [
        "portal:dashboard",
        "portal:event_list",
        "portal:event_csv",
        "portal:user_list",
        "portal:group_list",
        "portal:api_events",
    ],
)
def test_another_organizations_pages_answer_404(tenant_client, other_organization, name):
    record(other_organization)

    response = tenant_client.get(reverse(name, args=[other_organization.slug]))

    assert response.status_code == 404


def test_another_organizations_event_answers_404(tenant_client, organization, other_organization):
    theirs = record(other_organization)

    response = tenant_client.get(
        reverse("portal:event_detail", args=[organization.slug, theirs.pk])
    )

    assert response.status_code == 404


def test_another_organizations_user_timeline_answers_404(
    tenant_client, organization, other_organization
):
    record(other_organization, subject="secret.user@lakeside.test")

    response = tenant_client.get(
        reverse("portal:user_timeline", args=[organization.slug, "secret.user@lakeside.test"])
    )

    assert response.status_code == 404


def test_the_event_list_filters_to_failures(tenant_client, organization):
    record(organization, subject="fine@x.test")
    record(organization, subject="broken@x.test", status_code=409, error_type="uniqueness")

    response = tenant_client.get(
        reverse("portal:event_list", args=[organization.slug]), {"outcome": "failure"}
    )

    assert "broken@x.test" in response.text
    assert "fine@x.test" not in response.text


def test_the_event_list_filters_by_operation_user_and_time(tenant_client, organization):
    now = timezone.now()
    record(organization, subject="ann@x.test", at=now - timedelta(days=2))
    record(organization, subject="ann@x.test", operation=Operation.DEACTIVATE_USER, at=now)
    record(organization, subject="bob@x.test", operation=Operation.DEACTIVATE_USER, at=now)

    response = tenant_client.get(
        reverse("portal:event_list", args=[organization.slug]),
        {
            "operation": "deactivate_user",
            "user": "ann@x.test",
            "since": (now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
        },
    )

    events = response.context["page"].events
    assert [(e.subject, e.operation) for e in events] == [("ann@x.test", "deactivate_user")]


def test_the_event_list_pages_through_older_events(tenant_client, organization, settings):
    settings.PORTAL_PAGE_SIZE = 2
    start = timezone.now()
    for minute in range(5):
        record(organization, subject=f"user{minute}@x.test", at=start + timedelta(minutes=minute))
    url = reverse("portal:event_list", args=[organization.slug])

    first = tenant_client.get(url).context["page"]
    second = tenant_client.get(url, {"before": first.older_cursor}).context["page"]
    back = tenant_client.get(url, {"after": second.newer_cursor}).context["page"]

    assert [e.subject for e in first.events] == ["user4@x.test", "user3@x.test"]
    assert [e.subject for e in second.events] == ["user2@x.test", "user1@x.test"]
    assert [e.subject for e in back.events] == ["user4@x.test", "user3@x.test"]


def test_a_failure_explains_its_fix(tenant_client, organization):
    event = record(
        organization,
        status_code=409,
        error_type="uniqueness",
        error_detail="userName is already taken",
        subject="dup@x.test",
    )

    response = tenant_client.get(reverse("portal:event_detail", args=[organization.slug, event.pk]))

    assert "A user with the userName “dup@x.test” already exists here" in response.text
    assert "retries every cycle" in response.text


def test_a_users_timeline_says_why_they_are_deactivated(tenant_client, organization):
    now = timezone.now()
    record(organization, subject="ann@x.test", resource_id="u-1", at=now - timedelta(hours=2))
    record(
        organization,
        subject="ann@x.test",
        resource_id="u-1",
        status_code=200,
        operation=Operation.DEACTIVATE_USER,
        request_id="deactivation-req-1",
    )

    response = tenant_client.get(
        reverse("portal:user_timeline", args=[organization.slug, "ann@x.test"])
    )

    assert response.status_code == 200
    assert "Why is this user deactivated?" in response.text
    assert "deactivation-req-1" in response.text
    assert len(response.context["page"].events) == 2


def test_the_csv_export_has_the_filtered_events(tenant_client, organization):
    record(organization, subject="fine@x.test")
    record(organization, subject="broken@x.test", status_code=409, error_type="uniqueness")

    response = tenant_client.get(
        reverse("portal:event_csv", args=[organization.slug]), {"outcome": "failure"}
    )

    rows = _csv(response)
    assert response["Content-Type"] == "text/csv"
    assert [(row["subject"], row["status"], row["error_type"]) for row in rows] == [
        ("broken@x.test", "409", "uniqueness")
    ]


def test_the_csv_export_has_a_column_for_every_field_of_the_api(tenant_client, organization):
    record(organization)

    header = next(
        csv.reader(
            io.StringIO(
                b"".join(
                    tenant_client.get(
                        reverse("portal:event_csv", args=[organization.slug])
                    ).streaming_content
                ).decode()
            )
        )
    )
    api = tenant_client.get(reverse("portal:api_events", args=[organization.slug])).json()

    renamed = {"created_at": "time", "status_code": "status", "cycle": "cycle_id"}
    assert header == [renamed.get(key, key) for key in api["results"][0] if key != "id"]
    assert {"credential_kind", "credential_id"} <= set(header)


@pytest.mark.parametrize(
    "formula",
    [
        '=HYPERLINK("http://evil")',
        "+1+cmd|' /C calc'!A0",
        "-2+3",
        "@SUM(A1:A9)",
        "\t=1+1",
        "\r=1+1",
    ],
)
def test_the_csv_export_defuses_spreadsheet_formulas(tenant_client, organization, formula):
    record(organization, subject=formula)

    rows = _csv(tenant_client.get(reverse("portal:event_csv", args=[organization.slug])))

    assert rows[0]["subject"] == f"'{formula}"


def test_a_new_tenant_admin_cannot_sign_in_before_setting_a_password(client, organization):
    user = services.create_tenant_admin(
        username="new.admin", email="n@x.test", organizations=[organization], actor=None
    )

    assert not user.has_usable_password()


@pytest.mark.parametrize(
    ("operation", "status_code", "expected"),
    [
        (Operation.CREATE_USER, 409, "A user with the userName"),
        (Operation.CREATE_GROUP, 409, "A group named"),
        (Operation.RENAME_GROUP, 409, "Another group here already has the name"),
        (Operation.LIST_USERS, 401, "secret token was refused"),
        (Operation.TEST_CONNECTION, 404, "Tenant URL does not point"),
        (Operation.UPDATE_USER, 500, "failed on Kno2's side"),
    ],
)
def test_each_failure_gets_a_fix_that_fits_it(operation, status_code, expected):
    from portal.explanations import explain_failure

    assert expected in explain_failure(operation=operation, status_code=status_code, subject="x")


@pytest.mark.parametrize(
    ("operation", "status_code"),
    [
        (Operation.CREATE_USER, 409),
        (Operation.LIST_USERS, 401),
        (Operation.TEST_CONNECTION, 404),
        (Operation.UPDATE_MEMBERS, 400),
        (Operation.UPDATE_USER, 500),
    ],
)
@pytest.mark.parametrize("kind", ["okta", "saml"])
def test_a_fix_for_an_okta_or_saml_organization_never_sends_it_to_azure(
    operation, status_code, kind
):
    from portal.explanations import explain_failure

    fix = explain_failure(operation=operation, status_code=status_code, subject="x", idp_kind=kind)
    assert "Azure" not in fix
    assert "Entra" not in fix


def test_an_okta_organizations_refused_token_points_at_the_okta_admin_console():
    from portal.explanations import explain_failure

    fix = explain_failure(operation=Operation.LIST_USERS, status_code=401, idp_kind="okta")
    assert "Okta Admin Console under Applications → Kno2fy → Provisioning → Integration" in fix
    assert "Test API Credentials" in fix


def test_the_event_page_explains_a_failure_in_the_organizations_own_idp_words(
    tenant_client, organization
):
    from organizations.services import set_sso_issuer

    set_sso_issuer(
        organization, "http://www.okta.com/exk1fcia6d6EMsf331d8", kind="okta", actor=None
    )
    event = record(organization, operation=Operation.CREATE_USER, status_code=409)

    page = tenant_client.get(f"/portal/o/{organization.slug}/events/{event.pk}/")

    assert "usually the Okta username" in page.content.decode()


def test_the_directory_lists_only_this_organizations_users_and_groups(
    tenant_client, organization, other_organization
):
    from scim.models import ScimGroup, ScimUser

    ScimUser.objects.create(organization=organization, user_name="ann@riverside.test")
    ScimUser.objects.create(organization=other_organization, user_name="zed@lakeside.test")
    ScimGroup.objects.create(organization=organization, display_name="Nurses")

    users = tenant_client.get(reverse("portal:user_list", args=[organization.slug]))
    groups = tenant_client.get(reverse("portal:group_list", args=[organization.slug]))

    assert "ann@riverside.test" in users.text
    assert "zed@lakeside.test" not in users.text
    assert "Nurses" in groups.text


def test_a_groups_timeline_lists_its_membership_changes(tenant_client, organization):
    from scim.models import ScimGroup

    group = ScimGroup.objects.create(organization=organization, display_name="Nurses")
    record(
        organization,
        operation=Operation.UPDATE_MEMBERS,
        status_code=204,
        resource_type="Group",
        resource_id=str(group.scim_id),
        subject="Nurses",
        members_added=4,
    )

    response = tenant_client.get(
        reverse("portal:group_timeline", args=[organization.slug, str(group.scim_id)])
    )

    assert response.status_code == 200
    assert "Add 4 members to group “Nurses”" in response.text


def test_the_dashboard_counts_provisioned_users_and_groups(tenant_client, organization):
    from scim.models import ScimUser

    ScimUser.objects.create(organization=organization, user_name="a@x.test")
    ScimUser.objects.create(organization=organization, user_name="b@x.test", active=False)

    response = tenant_client.get(reverse("portal:dashboard", args=[organization.slug]))

    assert response.context["counts"] == {"users": 2, "active_users": 1, "groups": 0}


def test_a_cycle_on_the_dashboard_links_to_its_events(tenant_client, organization):
    start = timezone.now() - timedelta(hours=2)
    record(organization, subject="early@x.test", at=start)
    record(organization, subject="late@x.test", at=start + timedelta(hours=1))
    dashboard = tenant_client.get(reverse("portal:dashboard", args=[organization.slug]))
    _, older_query = dashboard.context["recent_cycles"][1]

    response = tenant_client.get(
        f"{reverse('portal:event_list', args=[organization.slug])}?{older_query}"
    )

    assert [e.subject for e in response.context["page"].events] == ["early@x.test"]


def test_an_invalid_filter_is_ignored_and_the_others_still_apply(tenant_client, organization):
    record(organization, subject="fine@x.test")
    record(organization, subject="broken@x.test", status_code=500)

    response = tenant_client.get(
        reverse("portal:event_list", args=[organization.slug]),
        {"outcome": "failure", "since": "not a date"},
    )

    assert response.status_code == 200
    assert [e.subject for e in response.context["page"].events] == ["broken@x.test"]


def test_a_user_with_no_organization_is_told_to_ask_kno2(client, db):
    user = services.create_tenant_admin(
        username="lonely", email="l@x.test", organizations=[], actor=None
    )
    client.force_login(user)

    response = client.get(reverse("portal:home"))

    assert "not linked to any organization" in response.text


def test_the_dashboard_tells_the_customer_that_a_new_identity_provider_ended_the_old_trust(
    tenant_client, organization
):
    from oauth import services as oauth
    from organizations.services import set_sso_issuer
    from tests import factories

    oauth.configure_workload_identity(
        organization,
        issuer=f"https://login.microsoftonline.com/{factories.TENANT_A}/v2.0",
        subject="5d3e0c3a-0000-4c6e-9b1a-5f1e2d3c4b5a",
        audience="api://kno2-scim",
        actor=None,
    )
    set_sso_issuer(organization, f"https://sts.windows.net/{factories.TENANT_B}/", actor=None)

    page = tenant_client.get(f"/portal/o/{organization.slug}/").content.decode()

    assert 'data-testid="identity-provider-changed"' in page
    assert "What trusted the previous one stopped at once: workload identity federation" in page


def test_a_first_identity_provider_shows_no_change_banner(tenant_client, organization):
    page = tenant_client.get(f"/portal/o/{organization.slug}/").content.decode()

    assert 'data-testid="identity-provider-changed"' not in page


def test_an_okta_organizations_dashboard_says_where_the_tenant_url_goes_in_okta(
    tenant_client, organization
):
    from organizations.services import set_sso_issuer

    set_sso_issuer(
        organization, "http://www.okta.com/exk1fcia6d6EMsf331d8", kind="okta", actor=None
    )

    page = html.unescape(tenant_client.get(f"/portal/o/{organization.slug}/").content.decode())

    assert "Paste this into Okta Admin Console → Applications → Kno2fy → Provisioning" in page
    assert "Azure" not in page


@pytest.mark.parametrize(
    ("kind", "place"),
    [
        ("entra", "Enterprise applications → Kno2fy → Users and groups"),
        ("okta", "Okta Admin Console (Applications → Kno2fy → Assignments)"),
    ],
)
def test_the_duplicate_create_advice_says_where_to_remove_the_duplicate_not_here(kind, place):
    from portal.explanations import explain_failure

    fix = explain_failure(
        operation=Operation.CREATE_USER, status_code=409, subject="ann@x.test", idp_kind=kind
    )

    assert place in fix
    assert "duplicate here" not in fix
