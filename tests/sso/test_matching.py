"""Who a NameID signs in as, and which groups let them in (issue 19 items 7 and 11): the
provisioned userName ignoring case, without compatibility folding; portal groups by the SCIM
identity key, the same on PostgreSQL and SQLite."""

from __future__ import annotations

import pytest
from django.db import IntegrityError

from sso import services
from sso.models import RefusalReason, SignInAttempt, SsoPortalGroup

from . import flow
from .conftest import provision_group, provision_user


def _sign_in(client, idp, organization, name_id: str | None = None):
    request = flow.request_id(idp, organization, flow.start(client, organization))
    return flow.post(client, organization, idp.response(organization, request, name_id=name_id))


@pytest.mark.parametrize(
    "name_id",
    [
        "jordan@conto\u017fo.com",  # long s
        "\uff4aordan@contoso.com",  # fullwidth j
    ],
    ids=["long-s", "fullwidth"],
)
def test_a_name_equal_only_under_compatibility_folding_does_not_sign_in(
    client, sso, jordan, idp, organization, name_id
):
    _sign_in(client, idp, organization, name_id)
    assert flow.signed_in_as(client) is None
    attempt = SignInAttempt.objects.get(organization=organization)
    assert (attempt.name_id, attempt.reason) == (name_id, RefusalReason.NOT_PROVISIONED)


def test_a_name_in_other_case_with_accents_signs_in(client, organization, idp, admins_group):
    provision_user(organization, "élise@contoso.com", groups=(admins_group,))
    services.configure_sso(
        organization, portal_groups=["Kno2 Admins"], actor=None, metadata_url=idp.metadata_url
    )
    _sign_in(client, idp, organization, "ÉLISE@contoso.com")
    assert flow.signed_in_as(client) == "élise@contoso.com"


def _configure(organization, idp, group: str):
    return services.configure_sso(
        organization, portal_groups=[group], actor=None, metadata_url=idp.metadata_url
    )


def test_a_portal_group_named_in_other_case_admits_its_members_on_every_database(
    client, organization, idp
):
    group = provision_group(organization, "équipe admins")
    provision_user(organization, "jordan@contoso.com", groups=(group,))
    _configure(organization, idp, "ÉQUIPE ADMINS")
    _sign_in(client, idp, organization)
    assert flow.signed_in_as(client) == "jordan@contoso.com"


def test_a_group_with_a_dotless_i_is_not_the_portal_group_with_an_i(client, organization, idp):
    group = provision_group(organization, "Kno2 Adm\u0131ns")
    provision_user(organization, "jordan@contoso.com", groups=(group,))
    _configure(organization, idp, "Kno2 Admins")
    _sign_in(client, idp, organization)
    assert flow.signed_in_as(client) is None


def test_two_portal_groups_with_one_identity_key_cannot_both_be_saved(organization, idp):
    configuration = _configure(organization, idp, "équipe admins")
    with pytest.raises(IntegrityError):
        SsoPortalGroup.objects.create(configuration=configuration, display_name="ÉQUIPE ADMINS")
