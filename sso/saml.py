"""The SAML exchange itself, on pysaml2: the only module that talks to the library.

pysaml2 builds the AuthnRequest and checks the response: the XML signature (with the xmlsec1
binary, against the signing certificates the IdP's current metadata lists), the audience, the
validity window with ``SSO_CLOCK_SKEW_SECONDS`` of slack, the Destination and Recipient against
our ACS URL, and ``InResponseTo`` against the request this browser started. It never accepts an
unsolicited response. Everything here is a pure function of the configuration passed in.

pysaml2 is imported inside the functions: it takes seconds to import, and every gunicorn worker
loads this module at boot (through the admin), while only SSO requests need the library.
"""

from __future__ import annotations

import base64
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings

if TYPE_CHECKING:
    from saml2.client import Saml2Client
    from saml2.config import SPConfig
    from saml2.response import AuthnResponse

BINDING_HTTP_POST = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
BINDING_HTTP_REDIRECT = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
NAMEID_FORMAT_EMAILADDRESS = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
NAMEID_FORMAT_UNSPECIFIED = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"
NAMEID_FORMAT_PERSISTENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
NAMEID_FORMAT_TRANSIENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"
# The formats whose value is the user's name, matched against provisioned userNames.
NAMEID_FORMATS_MATCHED = frozenset({NAMEID_FORMAT_EMAILADDRESS, NAMEID_FORMAT_UNSPECIFIED})

XMLDSIG_NS = "http://www.w3.org/2000/09/xmldsig#"
# SHA-256 or stronger only: advertised in our metadata and required of every signature.
SIGNATURE_ALGORITHMS = (
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384",
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512",
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384",
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512",
)
DIGEST_ALGORITHMS = (
    "http://www.w3.org/2001/04/xmlenc#sha256",
    "http://www.w3.org/2001/04/xmldsig-more#sha384",
    "http://www.w3.org/2001/04/xmlenc#sha512",
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServiceProvider:
    """Our side of one organization's SAML trust: the values the customer pastes into Entra."""

    entity_id: str
    acs_url: str
    login_url: str
    metadata_url: str


@dataclass(frozen=True)
class IdpMetadata:
    entity_id: str
    sso_url: str
    signing_certificates: tuple[str, ...]


class MetadataError(ValueError):
    """IdP metadata we cannot use; the message says why, for staff."""


def _config(sp: ServiceProvider, metadata_xml: str) -> SPConfig:
    from saml2.config import SPConfig

    config = SPConfig()
    config.load(
        {
            **({"metadata": {"inline": [metadata_xml]}} if metadata_xml else {}),
            "entityid": sp.entity_id,
            "xmlsec_binary": settings.SSO_XMLSEC_BINARY,
            "accepted_time_diff": settings.SSO_CLOCK_SKEW_SECONDS,
            "signing_algorithm": SIGNATURE_ALGORITHMS[0],
            "digest_algorithm": DIGEST_ALGORITHMS[0],
            "allow_unknown_attributes": True,
            "service": {
                "sp": {
                    "name": "Kno2 provisioning portal",
                    "endpoints": {"assertion_consumer_service": [(sp.acs_url, BINDING_HTTP_POST)]},
                    "allow_unsolicited": False,
                    "authn_requests_signed": False,
                    # Entra signs the assertion by default, Okta the response or both: require one
                    # (a signed response covers the assertion inside it). Our metadata still says
                    # WantAssertionsSigned="true" (``sp_metadata``): IdPs that import it, like
                    # SimpleSAMLphp, otherwise sign only the response, or nothing at all when set
                    # up like Entra to leave the response unsigned.
                    "want_assertions_or_response_signed": True,
                    "want_assertions_signed": False,
                    "want_response_signed": False,
                    "name_id_format": NAMEID_FORMAT_UNSPECIFIED,
                    "name_id_format_allow_create": False,
                },
            },
        }
    )
    return config


def parse_metadata(metadata_xml: str) -> IdpMetadata:
    """The one identity provider described by ``metadata_xml``, or ``MetadataError``."""
    if not metadata_xml.strip():
        raise MetadataError("The IdP metadata is empty.")
    placeholder = ServiceProvider(
        "urn:kno2:metadata-check",
        "https://localhost/acs",
        "https://localhost/",
        "https://localhost/",
    )
    try:
        store = _config(placeholder, metadata_xml).metadata
    except Exception as exc:
        raise MetadataError(f"The IdP metadata is not valid SAML metadata ({exc}).") from exc
    idps = list(store.identity_providers())
    if len(idps) != 1:
        raise MetadataError(
            f"The metadata must describe exactly one identity provider; it describes {len(idps)}."
        )
    entity_id = idps[0]
    try:
        services = store.single_sign_on_service(entity_id, BINDING_HTTP_REDIRECT)
    except Exception:
        services = []
    if not services:
        raise MetadataError("The IdP offers no HTTP-Redirect single sign-on service.")
    certificates = tuple(cert for _name, cert in store.certs(entity_id, "idpsso", "signing"))
    if not certificates:
        raise MetadataError("The IdP metadata lists no signing certificate.")
    return IdpMetadata(entity_id, services[0]["location"], certificates)


def client(sp: ServiceProvider, metadata_xml: str) -> Saml2Client:
    from saml2.client import Saml2Client

    return Saml2Client(config=_config(sp, metadata_xml))


def authn_request(
    sp: ServiceProvider, metadata_xml: str, idp_entity_id: str, relay_state: str
) -> tuple[str, str]:
    """``(request id, URL to redirect the browser to)`` for an HTTP-Redirect AuthnRequest."""
    request_id, info = client(sp, metadata_xml).prepare_for_authenticate(
        entityid=idp_entity_id,
        relay_state=relay_state,
        binding=BINDING_HTTP_REDIRECT,
        nameid_format=NAMEID_FORMAT_EMAILADDRESS,
    )
    location = dict(info["headers"])["Location"]
    return request_id, location


@dataclass(frozen=True)
class VerifiedAssertion:
    issuer: str
    name_id: str
    assertion_id: str
    not_on_or_after: str


class ResponseRefused(Exception):
    """The response failed a check; ``reason`` is a ``RefusalReason`` value.

    ``name_id`` is set only when the IdP's signature over the assertion (or the whole response)
    verified before the check failed: then the refusal is the IdP's word about a person, not
    text anyone could post.
    """

    def __init__(self, reason: str, detail: str = "", *, name_id: str | None = None) -> None:
        super().__init__(detail or reason)
        self.reason = reason
        self.detail = detail
        self.name_id = name_id

    @property
    def verified(self) -> bool:
        return self.name_id is not None


def _refusal(exc: Exception) -> ResponseRefused:
    """Map pysaml2's exception to the reason shown in the sign-in log."""
    from saml2.response import IncorrectlySigned, StatusError, UnsolicitedResponse
    from saml2.sigver import SigverError
    from saml2.validate import ResponseLifetimeExceed, ToEarly

    detail = f"{type(exc).__name__}: {exc}"[:200]
    lowered = str(exc).lower()
    if isinstance(exc, SigverError | IncorrectlySigned):
        return ResponseRefused("bad_signature", detail)
    if isinstance(exc, ResponseLifetimeExceed | ToEarly):
        return ResponseRefused("expired", detail)
    if isinstance(exc, UnsolicitedResponse) or "don't recall" in lowered:
        return ResponseRefused("unsolicited", detail)
    if isinstance(exc, StatusError):
        return ResponseRefused("idp_error", detail)
    if "audience" in lowered:
        return ResponseRefused("wrong_audience", detail)
    if "recipient" in lowered or "destination" in lowered:
        return ResponseRefused("wrong_recipient", detail)
    return ResponseRefused("invalid_response", detail)


def _unusable(saml_response: str, sp: ServiceProvider) -> ResponseRefused:
    """Why pysaml2 returned no response: it does so, without raising, for a wrong Destination."""
    from saml2 import samlp

    try:
        document = samlp.response_from_string(base64.b64decode(saml_response))
    except Exception:
        document = None
    if document is not None and document.destination and document.destination != sp.acs_url:
        return ResponseRefused("wrong_recipient", f"Destination {document.destination}"[:200])
    return ResponseRefused("invalid_response", "no usable assertion")


# NameID formats whose value is not the user's name, each with its own refusal reason.
NAMEID_REFUSALS = {
    NAMEID_FORMAT_PERSISTENT: "nameid_persistent",
    NAMEID_FORMAT_TRANSIENT: "nameid_transient",
}


def _check_algorithms(xml: str | bytes, name_id: str) -> None:
    """Refuse a verified response any of whose signatures uses SHA-1 (or weaker) anywhere.

    Checked after the signature verified, so the refusal names who was refused and the customer
    learns that their IdP must sign with RSA-SHA256: xmlsec1 itself still accepts rsa-sha1.
    """
    from defusedxml.ElementTree import fromstring

    document = fromstring(xml.encode() if isinstance(xml, str) else xml)
    weak = [
        element.get("Algorithm", "")
        for tag, allowed in (
            ("SignatureMethod", SIGNATURE_ALGORITHMS),
            ("DigestMethod", DIGEST_ALGORITHMS),
        )
        for element in document.iter(f"{{{XMLDSIG_NS}}}{tag}")
        if element.get("Algorithm", "") not in allowed
    ]
    if weak:
        raise ResponseRefused("weak_algorithm", ", ".join(sorted(set(weak)))[:200], name_id=name_id)


def _name_id_text(assertion: object) -> str:
    subject = getattr(assertion, "subject", None)
    name_id = getattr(subject, "name_id", None)
    return (getattr(name_id, "text", None) or "").strip()


def _witnessing_client(sp: ServiceProvider, metadata_xml: str) -> tuple[Saml2Client, list[str]]:
    """A client whose responses note the NameID of each assertion whose signature verified.

    pysaml2 checks the assertion's signature (or has checked the response's) and then, in the
    same step, the assertion's statements and conditions (lifetime, audience, recipient); a
    refusal from those later checks is about a person the IdP vouched for. pysaml2 raises without
    the response, so this subclass notes the name when the statement check begins, which
    pysaml2 only reaches once the signature check passed. An assertion in an unsigned response
    with no signature of its own gets there too (on the pass that tolerates it, refused later):
    it is not noted.
    """
    from saml2.client import Saml2Client
    from saml2.response import AuthnResponse

    verified: list[str] = []

    class WitnessedResponse(AuthnResponse):
        def authn_statement_ok(self, optional: bool = False) -> bool:
            if self.assertion.signature is not None or self.response.signature is not None:
                verified.append(_name_id_text(self.assertion))
            return super().authn_statement_ok(optional)

    class WitnessingClient(Saml2Client):
        def _parse_response(self, xmlstr, response_cls, *args, **kwargs):  # noqa: ANN001, ANN202
            if response_cls is AuthnResponse:
                response_cls = WitnessedResponse
            return super()._parse_response(xmlstr, response_cls, *args, **kwargs)

    return WitnessingClient(config=_config(sp, metadata_xml)), verified


def verify_response(
    sp: ServiceProvider,
    metadata_xml: str,
    idp_entity_id: str,
    saml_response: str,
    outstanding: dict[str, str],
) -> VerifiedAssertion:
    """Check the base64 ``SAMLResponse`` posted to our ACS; raise ``ResponseRefused`` if bad.

    ``outstanding`` maps the id of the AuthnRequest this browser started to its RelayState;
    a response to any other request (or to none) is refused.
    """
    saml_client, verified_names = _witnessing_client(sp, metadata_xml)
    try:
        # conv_info makes pysaml2 check SubjectConfirmationData/@Recipient against our ACS URL
        # (without it, any recipient passes).
        response: AuthnResponse | None = saml_client.parse_authn_request_response(
            saml_response,
            BINDING_HTTP_POST,
            outstanding=outstanding,
            conv_info={"acs": sp.acs_url},
        )
    except Exception as exc:
        logger.info("SAML response refused: %s", type(exc).__name__)
        refusal = _refusal(exc)
        if verified_names:
            refusal.name_id = verified_names[-1]
        raise refusal from exc
    if response is None or response.assertion is None:
        raise _unusable(saml_response, sp)
    # From here on pysaml2 has verified the IdP's signature over the assertion (or response).
    verified_name = _name_id_text(response.assertion)
    issuer = response.issuer()
    if issuer != idp_entity_id or response.assertion.issuer.text.strip() != idp_entity_id:
        raise ResponseRefused("wrong_issuer", issuer or "", name_id=verified_name)
    _check_algorithms(response.xmlstr, verified_name)
    if response.assertion.conditions is None:
        raise ResponseRefused(
            "invalid_response",
            "the assertion has no Conditions (audience and validity period)",
            name_id=verified_name,
        )
    audiences = [
        audience.text.strip()
        for restriction in response.assertion.conditions.audience_restriction
        for audience in restriction.audience
    ]
    if sp.entity_id not in audiences:
        raise ResponseRefused("wrong_audience", ", ".join(audiences)[:200], name_id=verified_name)
    recipients = {
        confirmation.subject_confirmation_data.recipient
        for confirmation in response.assertion.subject.subject_confirmation
        if confirmation.subject_confirmation_data is not None
    }
    if recipients != {sp.acs_url}:
        raise ResponseRefused(
            "wrong_recipient",
            ", ".join(sorted(filter(None, recipients))),
            name_id=verified_name,
        )
    name_id = (response.name_id.text or "").strip() if response.name_id is not None else ""
    if not name_id:
        raise ResponseRefused(
            "invalid_response", "the assertion names no subject", name_id=verified_name
        )
    name_id_format = (response.name_id.format or NAMEID_FORMAT_UNSPECIFIED).strip()
    if name_id_format not in NAMEID_FORMATS_MATCHED:
        raise ResponseRefused(
            NAMEID_REFUSALS.get(name_id_format, "nameid_format"), name_id_format, name_id=name_id
        )
    return VerifiedAssertion(
        issuer=issuer,
        name_id=name_id,
        assertion_id=response.assertion.id,
        not_on_or_after=response.assertion.conditions.not_on_or_after or "",
    )


def sp_metadata(sp: ServiceProvider, metadata_xml: str = "") -> str:
    """Our SP metadata document for the customer's IdP (Entra can upload it).

    It depends only on ``sp``: an IdP that is set up from our metadata first (SimpleSAMLphp,
    Okta, ADFS) reads it before we have the IdP's own metadata.

    It asks for signed assertions (``WantAssertionsSigned="true"``) and advertises only the
    SHA-256-or-stronger algorithms we accept; pysaml2 would list whatever xmlsec1 supports,
    md5 and sha1 included.
    """
    from saml2 import md
    from saml2.extension.algsupport import DigestMethod, SigningMethod
    from saml2.metadata import entity_descriptor, metadata_tostring_fix
    from saml2.validate import valid_instance

    config = _config(sp, metadata_xml)
    config.setattr("sp", "want_assertions_signed", True)
    descriptor = entity_descriptor(config)
    descriptor.extensions = md.Extensions()
    descriptor.extensions.add_extension_elements(
        [DigestMethod(algorithm=algorithm) for algorithm in DIGEST_ALGORITHMS]
        + [SigningMethod(algorithm=algorithm) for algorithm in SIGNATURE_ALGORITHMS]
    )
    valid_instance(descriptor)
    nspair = {"xs": "http://www.w3.org/2001/XMLSchema"}
    return metadata_tostring_fix(descriptor, nspair, None).decode()
