"""A real OpenID issuer on 127.0.0.1 that signs client assertions the way Entra ID does.

It holds RSA key pairs, serves ``/<tenant>/v2.0/.well-known/openid-configuration`` and the JWKS
it names (``/<tenant>/discovery/v2.0/keys``, as login.microsoftonline.com lays them out) over
HTTP, and signs RS256 JWTs with a ``kid`` header. ``claims`` are shaped as the app-only v2.0
access token Entra issues for Microsoft's validator (AzureAD/SCIMReferenceCode's
``SCIMTests_WorkloadIdentityFederation_Setup.md`` sets ``requestedAccessTokenVersion`` to 2):
``aud`` the bare
Application (client) ID, ``iss`` ``<authority>/<tenant>/v2.0``, ``iat``/``nbf``/``exp``, ``aio``,
``azp``/``azpacr``, ``idtyp`` "app", ``oid`` = ``sub`` (the service principal), ``rh``, ``tid``,
``uti`` (Microsoft's token id) and ``ver`` "2.0" — no ``jti``, no ``appid``. ``v1_claims`` are the
v1.0 shape (``iss`` ``https://sts.windows.net/<tenant>/``, ``appid``/``appidacr``, ``idp``,
``ver`` "1.0", ``uti``, no ``jti``). Nothing is mocked: the service fetches these documents over
HTTP and verifies real signatures.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


@dataclass
class SigningKey:
    kid: str
    private_key: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )

    def jwk(self) -> dict:
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.private_key.public_key()))
        return {**public, "kid": self.kid, "use": "sig"}

    def public_pem(self) -> bytes:
        return self.private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


_GUID = re.compile(r"(?:api://)?([0-9a-f]{8}-(?:[0-9a-f]{4}-){3}[0-9a-f]{12})", re.IGNORECASE)


def _opaque() -> str:
    return _b64(os.urandom(40))


def _application_id(audience: str) -> str:
    """The app the token was requested by: in the validator's setup, the audience's own app."""
    match = _GUID.fullmatch(audience)
    return match[1].lower() if match else str(uuid.uuid4())


class EntraLikeIssuer:
    """Serves discovery documents and keys for any tenant id, and signs assertions."""

    def __init__(self) -> None:
        self.keys = [SigningKey(kid=f"key-{uuid.uuid4().hex[:8]}")]
        self.requests: list[str] = []
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the http.server API
                issuer.requests.append(self.path)
                parts = self.path.strip("/").split("/")
                if parts[1:] == ["v2.0", ".well-known", "openid-configuration"]:
                    body = {
                        "issuer": issuer.issuer(parts[0]),
                        "jwks_uri": f"{issuer.base}/{parts[0]}/discovery/v2.0/keys",
                        "id_token_signing_alg_values_supported": ["RS256"],
                    }
                elif parts[1:] == ["discovery", "v2.0", "keys"] or parts == ["custom-keys"]:
                    body = {"keys": [key.jwk() for key in issuer.keys]}
                else:
                    self.send_error(404)
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def issuer(self, tenant_id: str) -> str:
        return f"{self.base}/{tenant_id}/v2.0"

    def rotate(self) -> SigningKey:
        """Publish a new signing key, as Entra does from time to time; the old one stays."""
        key = SigningKey(kid=f"key-{uuid.uuid4().hex[:8]}")
        self.keys.append(key)
        return key

    def claims(self, tenant_id: str, *, subject: str, audience: str, **overrides: object) -> dict:
        """An Entra v2.0 app-only access token's claims; ``overrides`` change or (``None``)
        drop claims."""
        now = int(time.time())
        claims = {
            "aud": audience,
            "iss": self.issuer(tenant_id),
            "iat": now,
            "nbf": now,
            "exp": now + 3600,
            "aio": _opaque(),
            "azp": _application_id(audience),
            "azpacr": "1",
            "idtyp": "app",
            "oid": subject,
            "rh": _opaque(),
            "sub": subject,
            "tid": tenant_id,
            "uti": _b64(os.urandom(16)),
            "ver": "2.0",
        }
        claims.update(overrides)
        return {name: value for name, value in claims.items() if value is not None}

    def v1_claims(
        self, tenant_id: str, *, subject: str, audience: str, **overrides: object
    ) -> dict:
        """The same token in Entra's v1.0 shape (``requestedAccessTokenVersion`` null or 1)."""
        now = int(time.time())
        issuer = f"https://sts.windows.net/{tenant_id}/"
        claims = {
            "aud": audience,
            "iss": issuer,
            "iat": now,
            "nbf": now,
            "exp": now + 3600,
            "aio": _opaque(),
            "appid": _application_id(audience),
            "appidacr": "1",
            "idp": issuer,
            "idtyp": "app",
            "oid": subject,
            "rh": _opaque(),
            "sub": subject,
            "tid": tenant_id,
            "uti": _b64(os.urandom(16)),
            "ver": "1.0",
        }
        claims.update(overrides)
        return {name: value for name, value in claims.items() if value is not None}

    def sign(
        self,
        claims: dict,
        *,
        key: SigningKey | None = None,
        kid: str | None = None,
        algorithm: str = "RS256",
    ) -> str:
        key = key or self.keys[0]
        return jwt.encode(
            claims,
            key.private_key,
            algorithm=algorithm,
            headers={"kid": kid or key.kid, "typ": "JWT"},
        )

    def unsigned(self, claims: dict) -> str:
        """``alg: none``: header and claims with an empty signature."""
        header = _b64(json.dumps({"alg": "none", "typ": "JWT", "kid": self.keys[0].kid}).encode())
        return f"{header}.{_b64(json.dumps(claims).encode())}."

    def hmac_with_public_key(self, claims: dict) -> str:
        """HS256 keyed by the issuer's public key: the classic algorithm-confusion attack."""
        header = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": self.keys[0].kid}).encode())
        body = f"{header}.{_b64(json.dumps(claims).encode())}"
        signature = hmac.new(self.keys[0].public_pem(), body.encode(), hashlib.sha256).digest()
        return f"{body}.{_b64(signature)}"


def assertion_form(
    assertion: str, client_id: str | None = None, scope: str = "api://kno2-scim/.default"
) -> dict:
    """The body Entra POSTs for workload identity federation (RFC 7523 §2.2)."""
    form = {
        "grant_type": "client_credentials",
        "client_assertion_type": CLIENT_ASSERTION_TYPE,
        "client_assertion": assertion,
        "scope": scope,
    }
    if client_id:
        form["client_id"] = client_id
    return form


def validator_form(assertion: str, client_id: str, base_address: str) -> dict:
    """The body of Microsoft's validator Federated_Identity_Test, step ``Acquire_Federated_Token``
    (SCIMTests_Workflow.json @ 805b036f): no ``scope``, no secret, and a ``baseAddress``."""
    return {
        "grant_type": "client_credentials",
        "client_id": client_id,
        "client_assertion": assertion,
        "client_assertion_type": CLIENT_ASSERTION_TYPE,
        "baseAddress": base_address,
    }
