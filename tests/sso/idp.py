"""A real SAML identity provider for the tests, signing the way Microsoft Entra ID does.

Its own RSA key and self-signed certificate (made here with ``cryptography``), its federation
metadata served over HTTP on 127.0.0.1, and pysaml2's IdP (``saml2.server.Server``) building the
response: the assertion signed with RSA-SHA256, the response itself unsigned, NameID in the
emailAddress format, entity id ``https://sts.windows.net/<tenant>/``. Its HTTP server also answers
the HTTP-Redirect AuthnRequest with the auto-posting form a real IdP sends the browser.
"""

from __future__ import annotations

import base64
import html
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from django.conf import settings
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2 import saml as saml_elements
from saml2.assertion import Policy
from saml2.config import IdPConfig
from saml2.saml import NAMEID_FORMAT_EMAILADDRESS, NameID
from saml2.server import Server
from saml2.xmldsig import DIGEST_SHA256, SIG_RSA_SHA256

from organizations.models import Organization
from sso import saml, services


@dataclass(frozen=True)
class SigningKey:
    key_path: Path
    cert_path: Path

    @property
    def cert_base64(self) -> str:
        """The certificate as metadata carries it: base64 DER, no PEM armour."""
        pem = self.cert_path.read_text()
        return "".join(line for line in pem.splitlines() if "-----" not in line)


def make_signing_key(folder: Path, name: str) -> SigningKey:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"Test IdP {name}")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    folder.mkdir(parents=True, exist_ok=True)
    key_path, cert_path = folder / f"{name}.key", folder / f"{name}.crt"
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return SigningKey(key_path, cert_path)


def metadata_xml(entity_id: str, sso_url: str, keys: list[SigningKey]) -> str:
    """Federation metadata shaped like Entra's (one IDPSSODescriptor, signing keys, SSO URLs)."""
    key_descriptors = "".join(
        '<KeyDescriptor use="signing"><KeyInfo xmlns="http://www.w3.org/2000/09/xmldsig#">'
        f"<X509Data><X509Certificate>{key.cert_base64}</X509Certificate></X509Data></KeyInfo>"
        "</KeyDescriptor>"
        for key in keys
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" '
        f'ID="_{abs(hash(entity_id))}" entityID="{html.escape(entity_id)}">'
        '<IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">'
        f"{key_descriptors}"
        f'<SingleLogoutService Binding="{BINDING_HTTP_REDIRECT}" Location="{sso_url}"/>'
        f'<SingleSignOnService Binding="{BINDING_HTTP_REDIRECT}" Location="{sso_url}"/>'
        f'<SingleSignOnService Binding="{BINDING_HTTP_POST}" Location="{sso_url}"/>'
        "</IDPSSODescriptor></EntityDescriptor>"
    )


class _PolicyWithoutAudience(Policy):
    """pysaml2's release policy, building Conditions with no AudienceRestriction at all."""

    def conditions(self, sp_entity_id: str) -> saml_elements.Conditions:
        conditions = super().conditions(sp_entity_id)
        conditions.audience_restriction = []
        return conditions


class _Handler(BaseHTTPRequestHandler):
    idp: TestIdp

    def log_message(self, *args: object) -> None:
        return

    def do_GET(self) -> None:  # noqa: N802
        parts = urlsplit(self.path)
        if parts.path == "/metadata":
            body, kind = self.idp.metadata_document.encode(), "application/samlmetadata+xml"
        elif parts.path == "/sso":
            query = parse_qs(parts.query)
            body = self.idp.answer_redirect(
                query["SAMLRequest"][0], query.get("RelayState", [""])[0]
            ).encode()
            kind = "text/html; charset=utf-8"
        else:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@dataclass
class TestIdp:
    """An Entra-like IdP for one organization: ``tenant_id`` names it, ``keys[0]`` signs.

    ``issuer`` makes it another IdP's shape instead (Okta's app entity id,
    ``http://www.okta.com/<app id>``), and ``signs_response`` signs the whole response as well
    as the assertion, as Okta's SAML apps do by default.
    """

    __test__ = False  # a helper named like a test class: pytest must not try to collect it

    folder: Path
    tenant_id: str
    issuer: str = ""
    signs_response: bool = False
    keys: list[SigningKey] = field(default_factory=list)
    signing_key: SigningKey | None = None
    current_user: str = "jordan@contoso.com"
    metadata_document: str = ""
    base_url: str = ""
    # Organizations by public id, for answering AuthnRequests without touching the database
    # from the server thread.
    organizations: dict[str, Organization] = field(default_factory=dict)
    _server: ThreadingHTTPServer | None = None

    @property
    def entity_id(self) -> str:
        return self.issuer or f"https://sts.windows.net/{self.tenant_id}/"

    @property
    def metadata_url(self) -> str:
        return f"{self.base_url}/metadata"

    @property
    def sso_url(self) -> str:
        return f"{self.base_url}/sso"

    def start(self) -> TestIdp:
        handler = type("Handler", (_Handler,), {"idp": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        if not self.keys:
            self.keys = [make_signing_key(self.folder, "idp-1")]
        self.signing_key = self.signing_key or self.keys[0]
        self.publish(self.keys)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def publish(self, keys: list[SigningKey]) -> None:
        """Serve metadata listing exactly ``keys`` (what Entra does around a rollover)."""
        self.metadata_document = metadata_xml(self.entity_id, self.sso_url, keys)

    def server_for(
        self,
        organization: Organization,
        *,
        key: SigningKey | None = None,
        entity_id: str | None = None,
    ) -> Server:
        """pysaml2's IdP, trusting ``organization``'s SP metadata, signing with ``key``."""
        key = key or self.signing_key
        sp = services.service_provider(organization)
        sp_metadata = saml.sp_metadata(sp, self.metadata_document)
        config = IdPConfig()
        config.load(
            {
                "entityid": entity_id or self.entity_id,
                "xmlsec_binary": settings.SSO_XMLSEC_BINARY,
                "key_file": str(key.key_path),
                "cert_file": str(key.cert_path),
                "metadata": {"inline": [sp_metadata]},
                "service": {
                    "idp": {
                        "endpoints": {
                            "single_sign_on_service": [
                                (self.sso_url, BINDING_HTTP_REDIRECT),
                                (self.sso_url, BINDING_HTTP_POST),
                            ]
                        },
                        "policy": {
                            "default": {"lifetime": {"minutes": 15}, "attribute_restrictions": None}
                        },
                        "name_id_format": [NAMEID_FORMAT_EMAILADDRESS],
                    }
                },
            }
        )
        return Server(config=config)

    def response(
        self,
        organization: Organization,
        in_response_to: str | None,
        *,
        name_id: str | None = None,
        key: SigningKey | None = None,
        sign_assertion: bool = True,
        sign_response: bool = False,
        audience: str | None = None,
        destination: str | None = None,
        issuer: str | None = None,
        sign_alg: str = SIG_RSA_SHA256,
        digest_alg: str = DIGEST_SHA256,
        name_id_format: str = NAMEID_FORMAT_EMAILADDRESS,
        without_conditions: bool = False,
        audience_restriction: bool = True,
    ) -> str:
        """The signed response XML (not yet base64) for ``name_id``, as Entra would send it
        (without ``audience_restriction``, its assertion names no audience at all).

        ``without_conditions`` drops the assertion's ``<Conditions>`` before signing it, so the
        assertion is validly signed but names no audience and no validity period.
        """
        sp = services.service_provider(organization)
        server = self.server_for(organization, key=key, entity_id=issuer)
        if without_conditions:
            unsigned = self.response(
                organization,
                in_response_to,
                name_id=name_id,
                key=key,
                sign_assertion=False,
                audience=audience,
                destination=destination,
                issuer=issuer,
                name_id_format=name_id_format,
            )
            return _sign_assertion_without_conditions(server, unsigned, sign_alg, digest_alg)
        release = (
            {}
            if audience_restriction
            else {"release_policy": _PolicyWithoutAudience(mds=server.metadata)}
        )
        response = server.create_authn_response(
            identity={"emailaddress": [name_id or self.current_user]},
            in_response_to=in_response_to,
            destination=destination or sp.acs_url,
            sp_entity_id=audience or sp.entity_id,
            name_id=NameID(format=name_id_format, text=name_id or self.current_user),
            authn={
                "class_ref": "urn:oasis:names:tc:SAML:2.0:ac:classes:Password",
                "authn_auth": self.entity_id,
            },
            sign_assertion=sign_assertion,
            sign_response=sign_response,
            sign_alg=sign_alg,
            digest_alg=digest_alg,
            **release,
        )
        return str(response)

    def answer_redirect(self, saml_request: str, relay_state: str) -> str:
        """The page the IdP shows after the user signed in: a form auto-posting to the ACS."""
        organization = self.organizations[self._request_org(saml_request)]
        request = (
            self.server_for(organization)
            .parse_authn_request(saml_request, BINDING_HTTP_REDIRECT)
            .message
        )
        xml = self.response(organization, request.id, sign_response=self.signs_response)
        encoded = base64.b64encode(xml.encode()).decode()
        acs = html.escape(request.assertion_consumer_service_url)
        return (
            "<!doctype html><html><body><p>Signed in at the test IdP</p>"
            f'<form id="f" method="post" action="{acs}">'
            f'<input type="hidden" name="SAMLResponse" value="{encoded}">'
            f'<input type="hidden" name="RelayState" value="{html.escape(relay_state)}">'
            '<button type="submit">Continue</button></form>'
            '<script>document.getElementById("f").submit();</script></body></html>'
        )

    @staticmethod
    def _request_org(saml_request: str) -> str:
        import zlib

        xml = zlib.decompress(base64.b64decode(saml_request), -15).decode()
        # The request's Issuer is our SP entity id, .../sso/<organization public id>.
        start = xml.index("/sso/") + len("/sso/")
        return xml[start : start + 36]


def _sign_assertion_without_conditions(
    server: Server, unsigned_xml: str, sign_alg: str, digest_alg: str
) -> str:
    """Remove the assertion's Conditions, then sign the assertion as the IdP would."""
    from saml2 import class_name, samlp
    from saml2.sigver import pre_signature_part

    response = samlp.response_from_string(unsigned_xml)
    assertion = response.assertion[0]
    assertion.conditions = None
    assertion.signature = pre_signature_part(
        assertion.id, server.sec.my_cert, 1, sign_alg=sign_alg, digest_alg=digest_alg
    )
    return server.sec.sign_statement(str(response), class_name(assertion), node_id=assertion.id)


def encode(xml: str) -> str:
    return base64.b64encode(xml.encode()).decode()
