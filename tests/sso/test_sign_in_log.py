"""The customer's sign-in log holds only what the IdP's signature vouched for (issue 19 item 4,
issue 18 item 5): anything else is counted per organization, hour and reason, never shown as
text; a verified refusal names the person; old rows are pruned on a schedule."""

from __future__ import annotations

import time_machine
from django.core.management import call_command
from django.utils import timezone

from portal import services as portal_services
from sso import services
from sso.models import RefusalReason, SignInAttempt, UnverifiedSignInCount

from . import flow


def _signed_in_response(idp, organization, client, **kwargs) -> str:
    request = flow.request_id(idp, organization, flow.start(client, organization))
    return idp.response(organization, request, **kwargs)


def test_a_response_with_a_broken_signature_writes_nothing_to_the_sign_in_log(
    client, sso, jordan, idp, organization
):
    xml = _signed_in_response(idp, organization, client, name_id="mallory@contoso.com")
    flow.post(client, organization, xml.replace("mallory@contoso.com", "jordan@contoso.com"))
    assert list(SignInAttempt.objects.filter(organization=organization)) == []


def test_unverified_refusals_of_one_hour_share_one_counter(client, sso, jordan, idp, organization):
    for _ in range(2):
        xml = _signed_in_response(idp, organization, client, name_id="mallory@contoso.com")
        flow.post(client, organization, xml.replace("mallory@contoso.com", "jordan@contoso.com"))
    counts = UnverifiedSignInCount.objects.filter(organization=organization)
    assert [(row.reason, row.count) for row in counts] == [(RefusalReason.BAD_SIGNATURE, 2)]


def test_the_portal_never_shows_the_destination_an_attacker_wrote(
    client, sso, jordan, idp, organization
):
    # The SSO page is for the organization's admins: jordan was invited as one.
    invitation, _ = portal_services.invite(
        organization, email=jordan.user_name, role="admin", actor=None, send=False
    )
    portal_services.accept_invitation_for_sso(invitation.pk)
    xml = _signed_in_response(
        idp, organization, client, destination="https://evil.example/call-0800-scam/"
    )
    flow.post(client, organization, xml)
    assert flow.post(client, organization, _signed_in_response(idp, organization, client))
    page = client.get(f"/portal/o/{organization.slug}/sso/").content.decode()
    assert "call-0800-scam" not in page
    assert "the assertion is addressed to another URL" in page


def test_a_verified_assertion_refused_as_expired_names_the_person(
    client, sso, jordan, idp, organization, settings
):
    settings.SSO_REQUEST_MAX_AGE_SECONDS = 3600
    xml = _signed_in_response(idp, organization, client)
    with time_machine.travel(timezone.now() + timezone.timedelta(minutes=20), tick=False):
        flow.post(client, organization, xml)
    attempt = SignInAttempt.objects.get(organization=organization)
    assert (attempt.name_id, attempt.reason) == ("jordan@contoso.com", RefusalReason.EXPIRED)


def test_a_verified_assertion_for_another_service_provider_names_the_person(
    client, sso, jordan, idp, organization, other_organization
):
    other = services.service_provider(other_organization).entity_id
    flow.post(client, organization, _signed_in_response(idp, organization, client, audience=other))
    attempt = SignInAttempt.objects.get(organization=organization)
    assert (attempt.name_id, attempt.reason) == ("jordan@contoso.com", RefusalReason.WRONG_AUDIENCE)


def test_pruning_deletes_sign_in_attempts_older_than_the_retention(organization, sso, settings):
    settings.SSO_SIGN_IN_RETENTION_DAYS = 30
    old = services.record_attempt(organization, name_id="old@contoso.com")
    recent = services.record_attempt(organization, name_id="recent@contoso.com")
    SignInAttempt.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - timezone.timedelta(days=31)
    )
    call_command("prune_sign_in_attempts")
    assert list(SignInAttempt.objects.values_list("pk", flat=True)) == [recent.pk]


def test_pruning_deletes_unverified_counts_older_than_the_retention(organization, settings):
    settings.SSO_SIGN_IN_RETENTION_DAYS = 30
    services.count_unverified(
        organization,
        RefusalReason.BAD_SIGNATURE,
        at=timezone.now() - timezone.timedelta(days=31),
    )
    services.count_unverified(organization, RefusalReason.UNSOLICITED)
    call_command("prune_sign_in_attempts")
    assert list(UnverifiedSignInCount.objects.values_list("reason", flat=True)) == [
        RefusalReason.UNSOLICITED
    ]
