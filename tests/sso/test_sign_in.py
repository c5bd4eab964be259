"""SP-initiated SAML sign-in to the portal: who gets in (issue 11 item 2) and the security of the
exchange (item 3), against the Entra-like IdP of ``idp.py``, through Django's test client."""

from __future__ import annotations

import time_machine
from django.utils import timezone

from organizations.models import Organization
from sso.models import Outcome, RefusalReason, SignInAttempt, UnverifiedSignInCount
from tests import factories

from . import flow
from .conftest import provision_group, provision_user
from .idp import make_signing_key, metadata_xml


def _answer(idp, organization, client, **kwargs) -> tuple[str, object]:
    request = flow.request_id(idp, organization, flow.start(client, organization))
    xml = idp.response(organization, request, **kwargs)
    return xml, flow.post(client, organization, xml)


def _last_attempt(organization: Organization) -> SignInAttempt:
    return SignInAttempt.objects.filter(organization=organization).first()


def _counted(organization: Organization) -> dict[str, int]:
    """Refusals counted (not logged) because no IdP signature vouched for them, by reason."""
    return dict(
        UnverifiedSignInCount.objects.filter(organization=organization).values_list(
            "reason", "count"
        )
    )


def test_a_member_of_a_portal_group_signs_in_and_lands_on_the_portal(
    client, sso, jordan, idp, organization
):
    _xml, answer = _answer(idp, organization, client)
    assert answer.status_code == 302
    assert answer["Location"] == "/portal/"
    assert flow.signed_in_as(client) == "jordan@contoso.com"
    assert client.get(f"/portal/o/{organization.slug}/").status_code == 200


def test_an_accepted_sign_in_is_recorded(client, sso, jordan, idp, organization):
    _answer(idp, organization, client)
    attempt = _last_attempt(organization)
    assert (attempt.outcome, attempt.summary) == (Outcome.ACCEPTED, "jordan@contoso.com signed in")


def test_the_name_id_matches_the_user_name_ignoring_case(client, sso, jordan, idp, organization):
    _answer(idp, organization, client, name_id="Jordan@Contoso.com")
    assert flow.signed_in_as(client) == "jordan@contoso.com"


def test_a_user_outside_the_portal_groups_is_refused_with_the_group_named(
    client, sso, idp, organization
):
    other = provision_group(organization, "Nurses")
    provision_user(organization, "jordan@contoso.com", groups=(other,))
    _xml, answer = _answer(idp, organization, client)
    assert answer.status_code == 403
    assert flow.signed_in_as(client) is None
    assert _last_attempt(organization).summary == (
        "jordan@contoso.com was refused: not in Kno2 Admins"
    )


def test_a_name_nobody_was_provisioned_with_is_refused(client, sso, jordan, idp, organization):
    _answer(idp, organization, client, name_id="casey@contoso.com")
    assert flow.signed_in_as(client) is None
    assert _last_attempt(organization).reason == RefusalReason.NOT_PROVISIONED


def test_a_deactivated_user_is_refused(client, sso, admins_group, idp, organization):
    provision_user(organization, "jordan@contoso.com", active=False, groups=(admins_group,))
    _answer(idp, organization, client)
    assert flow.signed_in_as(client) is None
    assert _last_attempt(organization).reason == RefusalReason.INACTIVE


def test_a_user_of_another_organization_with_the_same_name_is_refused(
    client, sso, idp, organization, other_organization
):
    group = provision_group(other_organization, "Kno2 Admins")
    provision_user(other_organization, "jordan@contoso.com", groups=(group,))
    _answer(idp, organization, client)
    assert flow.signed_in_as(client) is None
    assert _last_attempt(organization).reason == RefusalReason.NOT_PROVISIONED


def test_an_sso_session_sees_only_its_own_organization(
    client, sso, jordan, idp, organization, other_organization
):
    _answer(idp, organization, client)
    assert client.get(f"/portal/o/{other_organization.slug}/").status_code == 404


def test_an_unsigned_assertion_is_refused(client, sso, jordan, idp, organization):
    _answer(idp, organization, client, sign_assertion=False)
    assert flow.signed_in_as(client) is None
    assert _counted(organization) == {RefusalReason.BAD_SIGNATURE: 1}


def test_a_signed_response_without_a_signed_assertion_is_accepted_as_okta_sends_it(
    client, sso, jordan, idp, organization
):
    _answer(idp, organization, client, sign_assertion=False, sign_response=True)
    assert flow.signed_in_as(client) == "jordan@contoso.com"


def test_an_assertion_signed_by_a_key_the_metadata_does_not_list_is_refused(
    client, sso, jordan, idp, organization, tmp_path
):
    _answer(idp, organization, client, key=make_signing_key(tmp_path, "attacker"))
    assert flow.signed_in_as(client) is None
    assert _counted(organization) == {RefusalReason.BAD_SIGNATURE: 1}


def test_an_assertion_for_another_service_provider_is_refused(
    client, sso, jordan, idp, organization, other_organization
):
    from sso import services

    other = services.service_provider(other_organization).entity_id
    _answer(idp, organization, client, audience=other)
    assert flow.signed_in_as(client) is None
    assert _last_attempt(organization).reason == RefusalReason.WRONG_AUDIENCE


def test_an_assertion_addressed_to_another_url_is_refused(client, sso, jordan, idp, organization):
    _answer(idp, organization, client, destination="https://evil.example/acs/")
    assert flow.signed_in_as(client) is None
    assert _counted(organization) == {RefusalReason.WRONG_RECIPIENT: 1}


def test_an_expired_assertion_is_refused(client, sso, jordan, idp, organization, settings):
    settings.SSO_REQUEST_MAX_AGE_SECONDS = 3600  # the browser's request itself is still fresh
    request = flow.request_id(idp, organization, flow.start(client, organization))
    xml = idp.response(organization, request)
    with time_machine.travel(timezone.now() + timezone.timedelta(minutes=20), tick=False):
        flow.post(client, organization, xml)
    assert flow.signed_in_as(client) is None
    assert _last_attempt(organization).reason == RefusalReason.EXPIRED


def test_an_assertion_from_the_future_is_refused(client, sso, jordan, idp, organization):
    request = flow.request_id(idp, organization, flow.start(client, organization))
    with time_machine.travel(timezone.now() + timezone.timedelta(minutes=10), tick=False):
        xml = idp.response(organization, request)
    flow.post(client, organization, xml)
    assert flow.signed_in_as(client) is None
    assert _last_attempt(organization).reason == RefusalReason.EXPIRED


def test_a_clock_a_minute_ahead_is_within_the_skew(client, sso, jordan, idp, organization):
    request = flow.request_id(idp, organization, flow.start(client, organization))
    with time_machine.travel(timezone.now() + timezone.timedelta(seconds=60), tick=False):
        xml = idp.response(organization, request)
    flow.post(client, organization, xml)
    assert flow.signed_in_as(client) == "jordan@contoso.com"


def test_a_response_to_a_request_this_browser_did_not_start_is_refused(
    client, sso, jordan, idp, organization
):
    flow.start(client, organization)
    xml = idp.response(organization, "id-someone-elses-request")
    flow.post(client, organization, xml)
    assert flow.signed_in_as(client) is None
    assert _counted(organization) == {RefusalReason.UNSOLICITED: 1}


def test_a_response_posted_by_another_browser_is_refused(client, sso, jordan, idp, organization):
    from django.test import Client

    request = flow.request_id(idp, organization, flow.start(client, organization))
    other_browser = Client()
    flow.post(other_browser, organization, idp.response(organization, request))
    assert flow.signed_in_as(other_browser) is None
    assert _counted(organization) == {RefusalReason.UNSOLICITED: 1}


def test_an_unsolicited_response_is_refused(client, sso, jordan, idp, organization):
    flow.post(client, organization, idp.response(organization, None))
    assert flow.signed_in_as(client) is None
    assert _counted(organization) == {RefusalReason.UNSOLICITED: 1}


def test_a_replayed_assertion_is_refused(client, sso, jordan, idp, organization):
    from django.test import Client

    request = flow.request_id(idp, organization, flow.start(client, organization))
    request_cookie = client.cookies["kno2_sso_request"].value
    xml = idp.response(organization, request)
    flow.post(client, organization, xml)
    attacker = Client()
    attacker.cookies["kno2_sso_request"] = request_cookie
    flow.post(attacker, organization, xml)
    assert flow.signed_in_as(attacker) is None
    assert _last_attempt(organization).reason == RefusalReason.REPLAYED


def test_relay_state_never_leads_off_site(client, sso, jordan, idp, organization):
    request = flow.request_id(
        idp, organization, flow.start(client, organization, "https://evil.example/")
    )
    answer = flow.post(
        client,
        organization,
        idp.response(organization, request),
        relay_state="https://evil.example/",
    )
    assert answer["Location"] == "/portal/"


def test_relay_state_returns_to_the_portal_page_asked_for(client, sso, jordan, idp, organization):
    target = f"/portal/o/{organization.slug}/events/"
    request = flow.request_id(idp, organization, flow.start(client, organization, target))
    answer = flow.post(client, organization, idp.response(organization, request))
    assert answer["Location"] == target


def test_a_response_from_another_tenants_idp_is_refused(client, sso, jordan, idp, organization):
    """Signer keys are looked up by the response's Issuer; the metadata trusts no other."""
    other_issuer = f"https://sts.windows.net/{factories.TENANT_B}/"
    _answer(idp, organization, client, issuer=other_issuer)
    assert flow.signed_in_as(client) is None
    assert _counted(organization) == {RefusalReason.BAD_SIGNATURE: 1}


def test_signature_wrapping_with_an_unsigned_assertion_before_the_signed_one_is_refused(
    client, sso, jordan, idp, organization, admins_group
):
    """XSW: the attacker holds a signed assertion for their own account and puts a forged,
    unsigned one for jordan in front of it, hoping the SP checks one and reads the other."""
    provision_user(organization, "mallory@contoso.com")
    request = flow.request_id(idp, organization, flow.start(client, organization))
    xml = idp.response(organization, request, name_id="mallory@contoso.com")
    start = xml.index("<ns1:Assertion ")
    end = xml.index("</ns1:Assertion>") + len("</ns1:Assertion>")
    signed = xml[start:end]
    forged = signed.replace("mallory@contoso.com", "jordan@contoso.com").replace(
        'ID="id-', 'ID="forged-', 1
    )
    sig_start, sig_end = forged.index("<ns2:Signature"), forged.index("</ns2:Signature>") + 16
    forged = forged[:sig_start] + forged[sig_end:]
    flow.post(client, organization, xml[:start] + forged + signed + xml[end:])
    assert flow.signed_in_as(client) is None
    assert _counted(organization) == {RefusalReason.INVALID_RESPONSE: 1}


def test_signature_wrapping_with_the_signed_assertion_hidden_inside_a_forged_one_is_refused(
    client, sso, jordan, idp, organization
):
    """XSW: the forged assertion for jordan carries the signature of the genuine one, whose
    element is hidden inside it (in Advice), so the signature still verifies over something."""
    provision_user(organization, "mallory@contoso.com")
    request = flow.request_id(idp, organization, flow.start(client, organization))
    xml = idp.response(organization, request, name_id="mallory@contoso.com")
    start = xml.index("<ns1:Assertion ")
    end = xml.index("</ns1:Assertion>") + len("</ns1:Assertion>")
    signed = xml[start:end]
    forged = signed.replace("mallory@contoso.com", "jordan@contoso.com")
    forged = forged.replace('ID="id-', 'ID="forged-', 1).replace("</ns1:Assertion>", "")
    forged += f"<ns1:Advice>{signed}</ns1:Advice></ns1:Assertion>"
    flow.post(client, organization, xml[:start] + forged + xml[end:])
    assert flow.signed_in_as(client) is None
    assert _counted(organization) == {RefusalReason.BAD_SIGNATURE: 1}


def test_a_comment_injected_into_the_name_id_does_not_shorten_it(
    client, sso, jordan, idp, organization
):
    """The attacker's IdP account is jordan@contoso.com.evil.example; a comment inserted after
    jordan@contoso.com leaves the signature valid (canonicalization drops comments), and an SP
    that reads only the first text node would sign the attacker in as jordan."""
    request = flow.request_id(idp, organization, flow.start(client, organization))
    xml = idp.response(organization, request, name_id="jordan@contoso.com.evil.example")
    injected = xml.replace(
        ">jordan@contoso.com.evil.example<", ">jordan@contoso.com<!---->.evil.example<"
    )
    assert injected != xml
    flow.post(client, organization, injected)
    assert flow.signed_in_as(client) is None
    attempt = _last_attempt(organization)
    assert (attempt.name_id, attempt.reason) == (
        "jordan@contoso.com.evil.example",
        RefusalReason.NOT_PROVISIONED,
    )


def test_a_tampered_name_id_breaks_the_signature(client, sso, jordan, idp, organization):
    provision_user(organization, "mallory@contoso.com")
    request = flow.request_id(idp, organization, flow.start(client, organization))
    xml = idp.response(organization, request, name_id="mallory@contoso.com")
    flow.post(client, organization, xml.replace("mallory@contoso.com", "jordan@contoso.com"))
    assert flow.signed_in_as(client) is None
    assert _counted(organization) == {RefusalReason.BAD_SIGNATURE: 1}


def test_sign_in_is_refused_while_sso_is_switched_off(client, sso, jordan, idp, organization):
    from sso import services

    request = flow.request_id(idp, organization, flow.start(client, organization))
    services.set_enabled(sso, False, actor=None)
    flow.post(client, organization, idp.response(organization, request))
    assert flow.signed_in_as(client) is None
    assert _counted(organization) == {RefusalReason.SSO_DISABLED: 1}


def test_a_sign_in_costs_the_same_few_queries_however_many_groups_the_user_is_in(
    client, sso, jordan, idp, organization, django_assert_max_num_queries
):
    from scim import services as scim_services

    for n in range(30):
        scim_services.patch_group(
            provision_group(organization, f"Team {n}"),
            [
                {"op": "add", "path": "members", "value": [{"value": str(jordan.scim_id)}]},
            ],
        )
    request = flow.request_id(idp, organization, flow.start(client, organization))
    xml = idp.response(organization, request)
    with django_assert_max_num_queries(30):  # first sign-in: creates the portal account
        flow.post(client, organization, xml)
    assert flow.signed_in_as(client) == "jordan@contoso.com"


def test_an_assertion_naming_no_audience_at_all_is_refused(client, sso, jordan, idp, organization):
    """pysaml2 accepts an assertion without AudienceRestriction; it must name us."""
    xml, _answer_ = _answer(idp, organization, client, audience_restriction=False)
    assert "AudienceRestriction" not in xml
    assert flow.signed_in_as(client) is None
    assert _last_attempt(organization).reason == RefusalReason.WRONG_AUDIENCE


def test_a_response_from_another_entity_id_is_refused_even_signed_by_the_pinned_key(
    client, sso, jordan, idp, organization
):
    """The stored metadata names another entity with the same key (as if it had changed under
    us): the signature verifies, but the response's Issuer is not the entity id pinned."""
    from sso.models import SsoConfiguration

    other_issuer = f"https://sts.windows.net/{factories.TENANT_B}/"
    request = flow.request_id(idp, organization, flow.start(client, organization))
    SsoConfiguration.objects.filter(pk=sso.pk).update(
        metadata_xml=metadata_xml(other_issuer, idp.sso_url, idp.keys)
    )
    flow.post(client, organization, idp.response(organization, request, issuer=other_issuer))
    assert flow.signed_in_as(client) is None
    assert _last_attempt(organization).reason == RefusalReason.WRONG_ISSUER


def test_a_portal_group_of_another_organization_with_the_users_group_name_lets_nobody_in(
    client, sso, idp, organization, other_organization
):
    """Jordan is in Nurses, which only the other organization lets into its portal."""
    from sso import services

    provision_user(
        organization, "jordan@contoso.com", groups=(provision_group(organization, "Nurses"),)
    )
    services.configure_sso(
        other_organization,
        portal_groups=["Nurses"],
        actor=None,
        metadata_xml=metadata_xml(
            f"https://sts.windows.net/{factories.TENANT_B}/", idp.sso_url, idp.keys
        ),
    )
    _answer(idp, organization, client)
    assert flow.signed_in_as(client) is None
    assert _last_attempt(organization).reason == RefusalReason.NOT_IN_GROUP
