"""Token and API key pages tell each credential's status in words staff can act on."""

from __future__ import annotations

import pytest
from django.urls import reverse

from organizations import services
from organizations.models import ProvisioningToken
from portal.models import HistoryApiKey
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client, staff_user):
    factories.staff_sign_in(client, staff_user)
    return client


def _listed(staff_client, organization) -> str:
    return staff_client.get(
        reverse("admin:organizations_provisioningtoken_changelist"),
        {"organization__id__exact": organization.pk},
    ).text


def test_a_rotated_token_reads_replaced_and_works_until_its_grace_expiry(
    staff_client, token, organization
):
    services.rotate_token(token[0], actor=None)
    old = ProvisioningToken.objects.with_replacement().get(pk=token[0].pk)

    text = _listed(staff_client, organization)

    assert old.status == "replaced"
    assert f"replaced — works until {old.expires_at:%Y-%m-%d %H:%M} UTC" in text


def test_the_replacement_token_reads_active(token):
    new, _ = services.rotate_token(token[0], actor=None)

    assert ProvisioningToken.objects.with_replacement().get(pk=new.pk).status == "active"


def test_a_revoked_token_is_not_shown_in_red_as_if_expiring(staff_client, organization):
    row, _ = factories.make_token(organization)
    ProvisioningToken.objects.filter(pk=row.pk).update(
        expires_at=row.created_at + (row.expires_at - row.created_at) / 365 * 3
    )
    services.revoke_token(row, actor=None)

    text = _listed(staff_client, organization)

    assert "revoked " in text
    assert "(in 2 days)" not in text and "(in 3 days)" not in text


def test_the_too_many_tokens_message_names_them_and_offers_what_works(organization):
    first, _ = factories.make_token(organization)
    second, _ = factories.make_token(organization)

    with pytest.raises(services.ProvisioningError) as refused:
        services.issue_token(organization, actor=None)

    message = str(refused.value)
    assert first.display_prefix in message and second.display_prefix in message
    assert "Revoke the one Azure AD no longer uses" in message
    assert "rotate the one left" in message


def test_another_organizations_tokens_never_make_a_token_replaced(organization, other_organization):
    mine, _ = factories.make_token(organization)
    factories.make_token(other_organization)

    assert ProvisioningToken.objects.with_replacement().get(pk=mine.pk).status == "active"


def test_the_history_api_key_page_has_a_copy_button_expiry_and_warning(staff_client, organization):
    response = staff_client.post(
        reverse("admin:portal_historyapikey_add"),
        {"organization": organization.pk, "label": "Splunk"},
        follow=True,
    )

    text = response.content.decode()
    assert 'data-copy="api-key"' in text
    assert "This key does not expire" in text
    assert "This is the only time it is shown" in text
    assert HistoryApiKey.objects.get().digest not in text


def test_the_history_api_key_list_tells_active_from_revoked(staff_client, organization):
    from portal import services as portal_services

    active, _ = portal_services.issue_history_api_key(organization, actor=None, label="a")
    revoked, _ = portal_services.issue_history_api_key(organization, actor=None, label="b")
    portal_services.revoke_history_api_key(revoked, actor=None)

    text = staff_client.get(reverse("admin:portal_historyapikey_changelist")).text

    assert "active (does not expire)" in text
    assert "revoked " in text


def test_the_organization_list_shows_the_new_tokens_expiry_after_a_rotation(
    staff_client, organization, token
):
    new, _ = services.rotate_token(token[0], actor=None)

    response = staff_client.get(reverse("admin:organizations_organization_changelist"))

    [row] = response.context["cl"].result_list
    assert row.latest_token_expiry == new.expires_at
    assert "(in 6 days)" not in response.text and "(in 7 days)" not in response.text
