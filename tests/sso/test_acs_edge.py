"""The ACS is open to anyone, so it refuses cheaply before pysaml2 and xmlsec1 run (issue 19
item 1): a size bound on the posted response and a rate per client address and organization;
and pysaml2's own logging of a refused document keeps the document out of the logs."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from django.test import Client

from sso import services

from . import flow
from .idp import encode


def _acs_path(organization) -> str:
    return urlsplit(services.service_provider(organization).acs_url).path


def _padded(xml: str, size: int) -> str:
    """``xml`` with a comment after the signed assertion, so the signature still verifies."""
    return xml.replace("</ns0:Response>", f"<!--{'x' * size}--></ns0:Response>")


def test_a_valid_response_padded_past_the_bound_is_refused_as_too_large(
    client, sso, jordan, idp, organization
):
    request = flow.request_id(idp, organization, flow.start(client, organization))
    xml = _padded(idp.response(organization, request), 300 * 1024)
    answer = flow.post(client, organization, xml)
    assert answer.status_code == 413
    assert flow.signed_in_as(client) is None


def test_a_padded_response_within_the_bound_still_signs_in(client, sso, jordan, idp, organization):
    request = flow.request_id(idp, organization, flow.start(client, organization))
    xml = _padded(idp.response(organization, request), 100 * 1024)
    assert flow.post(client, organization, xml).status_code == 302
    assert flow.signed_in_as(client) == "jordan@contoso.com"


def test_a_client_past_the_acs_rate_is_refused_before_its_response_is_read(
    client, sso, jordan, idp, organization, settings
):
    settings.SSO_ACS_RATE = "3/5m"
    for _ in range(3):
        assert client.post(_acs_path(organization), {"SAMLResponse": "bm9wZQ=="}).status_code == 403
    request = flow.request_id(idp, organization, flow.start(client, organization))
    answer = flow.post(client, organization, idp.response(organization, request))
    assert (answer.status_code, answer["Retry-After"].isdigit()) == (429, True)
    assert flow.signed_in_as(client) is None


def test_another_client_address_is_not_limited_by_the_first(
    client, sso, jordan, idp, organization, settings
):
    settings.SSO_ACS_RATE = "3/5m"
    for _ in range(4):
        client.post(_acs_path(organization), {"SAMLResponse": "bm9wZQ=="})
    other = Client(REMOTE_ADDR="192.0.2.7")
    request = flow.request_id(idp, organization, flow.start(other, organization))
    assert flow.post(other, organization, idp.response(organization, request)).status_code == 302


def test_a_schema_invalid_response_never_puts_its_name_id_in_the_logs(
    client, sso, jordan, idp, organization, caplog
):
    caplog.set_level(logging.DEBUG)
    request = flow.request_id(idp, organization, flow.start(client, organization))
    xml = idp.response(organization, request, name_id="casey.secret@contoso.com")
    invalid = xml.replace('Version="2.0"', 'Version="2.0" Bogus="1"', 1)
    answer = client.post(_acs_path(organization), {"SAMLResponse": encode(invalid)})
    assert answer.status_code == 403
    assert "casey.secret" not in caplog.text
