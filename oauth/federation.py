"""Workload identity federation: check the client assertion Entra ID signs (RFC 7523 §2.2, §3).

Entra's provisioning service proves who it is with a JWT issued by the customer's tenant for its
"Sync Fabric" workload identity. We accept it when PyJWT verifies that:

* it is signed with an asymmetric algorithm (``ALGORITHMS``; never ``none``, never HMAC) by a
  key of the issuer's JWKS, found through the issuer's OpenID discovery document (or the
  client's JWKS URL override), cached and fetched again once when the ``kid`` is unknown
  (at most once per ``WORKLOAD_IDENTITY_JWKS_REFRESH_COOLDOWN_SECONDS``);
* ``iss`` is the configured tenant's, in either of Entra's forms (v2
  ``https://login.microsoftonline.com/<tenant>/v2.0``, v1 ``https://sts.windows.net/<tenant>/``);
  ``sub`` is the configured workload identity; ``aud`` is the configured application, as the
  bare Application (client) ID a v2 token carries or as ``api://<that id>``; ``exp``, ``nbf``,
  ``iat`` hold within ``WORKLOAD_IDENTITY_CLOCK_SKEW_SECONDS``; all of them present;
* its one-time id — ``jti``, or ``uti`` in Entra's access tokens, which carry no ``jti`` — was
  never exchanged before (``UsedAssertion``, shared by every worker).

Every refusal raises ``AssertionRejected`` with a sentence a customer's admin can act on.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from core import outbound

from .models import OAuthClient, UsedAssertion

logger = logging.getLogger(__name__)

# What Entra signs with (RS256) and the other asymmetric JWS algorithms; never HS* or none.
ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"]
# The one-time id is ``jti`` (RFC 7519) or, in Entra's access tokens, ``uti`` (checked after).
REQUIRED_CLAIMS = ["iss", "sub", "aud", "exp", "nbf", "iat"]
_GUID = r"[0-9A-Fa-f]{8}-(?:[0-9A-Fa-f]{4}-){3}[0-9A-Fa-f]{12}"
CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
_FETCH_TIMEOUT_SECONDS = 5


class AssertionRejected(Exception):  # noqa: N818 - reads as the event, like Django's Resolver404
    """The assertion is refused; ``str(error)`` says why, in plain words, without secrets.

    ``authentic``: the assertion was signed by the issuer for the configured workload identity
    (signature, ``iss`` and ``sub`` hold), so the refusal is the organization's own problem
    (wrong audience, a clock, a replay) and belongs in its history.
    """

    def __init__(self, message: str, *, authentic: bool = False) -> None:
        super().__init__(message)
        self.authentic = authentic


class IssuerMismatch(ValueError):
    """A workload identity issuer that does not name the organization's Entra tenant."""


def expected_issuer(tenant_id: uuid.UUID) -> str:
    """The v2.0 issuer of an Entra tenant on ``ENTRA_AUTHORITY_HOST``."""
    return f"{settings.ENTRA_AUTHORITY_HOST}/{tenant_id}/v2.0"


def v1_issuer(tenant_id: uuid.UUID) -> str:
    """The issuer of the tenant's v1 tokens (``requestedAccessTokenVersion`` null or 1)."""
    return f"{settings.ENTRA_V1_ISSUER_HOST}/{tenant_id}/"


def accepted_issuers(issuer: str) -> list[str]:
    """The ``iss`` values of one configured (v2) tenant issuer: its v2 and v1 forms."""
    # Any host: a stored issuer was checked against ENTRA_AUTHORITY_HOST when configured.
    match = re.fullmatch(rf"https?://[^/]+/(?P<tenant>{_GUID})/v2\.0", issuer)
    if match is None:
        return [issuer]
    return [issuer, v1_issuer(uuid.UUID(match["tenant"]))]


def accepted_audiences(audience: str) -> list[str]:
    """The ``aud`` values of one configured application: a v2 token carries the bare
    Application (client) ID, a v1 token requested for ``api://<id>/.default`` carries
    ``api://<id>``; either configured spelling accepts both."""
    match = re.fullmatch(rf"(?:api://)?({_GUID})", audience.strip())
    if match is None:
        return [audience]
    guid = match[1].lower()
    return list(dict.fromkeys([audience, guid, f"api://{guid}"]))


def check_issuer(issuer: str, tenant_id: uuid.UUID | None) -> str:
    """``issuer`` normalised to the tenant's v2 issuer, or ``IssuerMismatch`` saying why it
    cannot be this tenant's. Accepted as pasted: ``<host>/<tenant>`` (Microsoft's setup guide
    shows it without ``/v2.0``), ``<host>/<tenant>/v2.0``, and the v1 ``sts.windows.net`` form."""
    if tenant_id is None:
        raise IssuerMismatch(
            "Set the organization's SSO issuer first: the workload identity must belong to the "
            "same Entra tenant."
        )
    hosts = "|".join(
        re.escape(host) for host in (settings.ENTRA_AUTHORITY_HOST, settings.ENTRA_V1_ISSUER_HOST)
    )
    pattern = re.compile(rf"(?:{hosts})/(?P<tenant>{_GUID})(?:/v2\.0)?/?")
    match = pattern.fullmatch(issuer.strip())
    if match is None:
        raise IssuerMismatch(
            f"The issuer must read {expected_issuer(tenant_id)} (the Entra tenant's v2.0 issuer; "
            f"{settings.ENTRA_AUTHORITY_HOST}/{tenant_id} and {v1_issuer(tenant_id)} are "
            "accepted too)."
        )
    if uuid.UUID(match["tenant"]) != tenant_id:
        raise IssuerMismatch(
            f"The issuer names tenant {match['tenant'].lower()}, but the organization signs in "
            f"through tenant {tenant_id}; expected {expected_issuer(tenant_id)}."
        )
    return expected_issuer(tenant_id)


def _fetch_json(url: str) -> dict:
    """A JSON document from staff configuration (issuer or JWKS override), never request data,
    through the guarded outbound client (``core.outbound``): https, a public address checked at
    connect time, no redirects, one deadline, a size cap."""
    answer = outbound.fetch(
        "GET",
        url,
        headers={"Accept": "application/json"},
        deadline_seconds=_FETCH_TIMEOUT_SECONDS,
        max_bytes=1_000_000,
    )
    if not answer.ok:
        raise outbound.OutboundError(f"{url} answered HTTP {answer.status}.")
    return json.loads(answer.body)


class _GuardedKeyClient(jwt.PyJWKClient):
    """PyJWT's key set client, downloading through ``_fetch_json`` instead of urllib."""

    def fetch_data(self) -> Any:
        try:
            jwk_set = _fetch_json(self.uri)
        except (OSError, ValueError) as exc:
            raise jwt.PyJWKClientConnectionError(f"Fail to fetch data from the url: {exc}") from exc
        if not isinstance(jwk_set, dict):
            raise jwt.PyJWKClientError("The JWKS endpoint did not return a JSON object.")
        if self.jwk_set_cache is not None:
            self.jwk_set_cache.put(jwk_set)
        self._last_successful_fetch = time.monotonic()
        return jwk_set


_lock = threading.Lock()
_discovered: dict[str, tuple[float, str]] = {}
_key_clients: dict[str, jwt.PyJWKClient] = {}


def _jwks_url(client: OAuthClient) -> str:
    """The client's JWKS override, or ``jwks_uri`` from the issuer's discovery document."""
    if client.jwks_url:
        return client.jwks_url
    now = time.monotonic()
    cached = _discovered.get(client.issuer)
    if cached is not None and cached[0] > now:
        return cached[1]
    url = f"{client.issuer}/.well-known/openid-configuration"
    try:
        document = _fetch_json(url)
    except (OSError, ValueError) as exc:
        logger.warning("openid discovery failed issuer=%s error=%s", client.issuer, exc)
        raise AssertionRejected(
            f"Could not read the issuer's OpenID discovery document at {url}; retry later."
        ) from exc
    if document.get("issuer") != client.issuer or not document.get("jwks_uri"):
        raise AssertionRejected(
            f"The discovery document at {url} is not {client.issuer}'s (issuer or jwks_uri "
            "missing or different)."
        )
    jwks_uri = str(document["jwks_uri"])
    with _lock:
        _discovered[client.issuer] = (now + settings.WORKLOAD_IDENTITY_JWKS_CACHE_SECONDS, jwks_uri)
    return jwks_uri


def _key_client(url: str) -> jwt.PyJWKClient:
    with _lock:
        found = _key_clients.get(url)
        if found is None:
            found = _GuardedKeyClient(
                url,
                cache_jwk_set=True,
                lifespan=settings.WORKLOAD_IDENTITY_JWKS_CACHE_SECONDS,
                timeout=_FETCH_TIMEOUT_SECONDS,
                # At most one forced refetch per cooldown, so assertions with made-up kids
                # cannot make us hammer the issuer.
                cooldown_duration=settings.WORKLOAD_IDENTITY_JWKS_REFRESH_COOLDOWN_SECONDS,
            )
            _key_clients[url] = found
        return found


def forget_cached_keys() -> None:
    """Drop cached discovery documents and key sets (tests, and staff changing an issuer)."""
    with _lock:
        _discovered.clear()
        _key_clients.clear()


def _signing_key(client: OAuthClient, kid: str | None) -> jwt.PyJWK:
    if not kid:
        raise AssertionRejected("The assertion's header has no kid, so no signing key matches.")
    url = _jwks_url(client)
    try:
        # PyJWKClient fetches the key set again once when the kid is not in its cached copy.
        return _key_client(url).get_signing_key(kid)
    except jwt.PyJWKClientConnectionError as exc:
        logger.warning("jwks fetch failed url=%s error=%s", url, exc)
        raise AssertionRejected(f"Could not read the signing keys at {url}; retry later.") from exc
    except jwt.PyJWKClientError as exc:
        raise AssertionRejected(
            f"The assertion is signed with key {kid!r}, which is not among {client.issuer}'s "
            "signing keys."
        ) from exc


def _claim(assertion: str, name: str) -> object:
    """A claim of an assertion whose signature already verified, for the refusal's wording."""
    try:
        return jwt.decode(assertion, options={"verify_signature": False}).get(name)
    except jwt.InvalidTokenError:
        return None


def _for_workload(client: OAuthClient, assertion: str) -> bool:
    """Whether a verified assertion names the configured issuer and workload identity."""
    return (
        _claim(assertion, "iss") in accepted_issuers(client.issuer)
        and _claim(assertion, "sub") == client.subject
    )


def _claims_refusal(client: OAuthClient, assertion: str, error: jwt.InvalidTokenError) -> str:
    """Why PyJWT refused a correctly signed assertion, naming the values to fix."""
    if isinstance(error, jwt.MissingRequiredClaimError):
        return f"The assertion has no {error.claim!r} claim."
    if isinstance(error, jwt.InvalidAudienceError):
        return (
            f"The assertion audience is {_claim(assertion, 'aud')}, this organization "
            f"expects {client.audience}."
        )
    if isinstance(error, jwt.InvalidIssuerError):
        return (
            f"The assertion issuer is {_claim(assertion, 'iss')}, this organization "
            f"expects {client.issuer}."
        )
    if isinstance(error, jwt.exceptions.InvalidSubjectError):
        return (
            f"The assertion subject is {_claim(assertion, 'sub')}, this organization "
            f"expects {client.subject} (the workload identity's object id)."
        )
    if isinstance(error, jwt.ExpiredSignatureError):
        return (
            f"The assertion expired at {_when(_claim(assertion, 'exp'))}; check the clock "
            "of whatever sent it."
        )
    if isinstance(error, jwt.ImmatureSignatureError):
        return (
            f"The assertion is not valid before {_when(_claim(assertion, 'nbf'))} "
            f"(issued {_when(_claim(assertion, 'iat'))}); check the sender's clock."
        )
    return f"The assertion is not valid: {error}."


def _when(claims_value: object) -> str:
    try:
        return datetime.fromtimestamp(float(claims_value), tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    except (TypeError, ValueError, OverflowError):
        return str(claims_value)


def verify_assertion(client: OAuthClient, assertion: str) -> dict:
    """The claims of ``assertion`` if it authenticates ``client``; else ``AssertionRejected``.

    On success its ``jti`` (else ``uti``) is recorded, so the same assertion is refused
    afterwards.
    """
    try:
        header = jwt.get_unverified_header(assertion)
    except jwt.InvalidTokenError as exc:  # DecodeError, or a header PyJWT does not support
        raise AssertionRejected("The client assertion is not a signed JWT.") from exc
    algorithm = header.get("alg")
    if algorithm not in ALGORITHMS:
        raise AssertionRejected(
            f"The assertion is signed with {algorithm!r}; only asymmetric signatures "
            f"({', '.join(ALGORITHMS[:3])}, …) from the Entra tenant are accepted."
        )
    key = _signing_key(client, header.get("kid"))
    if algorithm != key.algorithm_name:
        # Refused before PyJWT reads anything else: nothing about this assertion is proven.
        raise AssertionRejected(
            f"The assertion is signed with {algorithm!r}, but key {key.key_id} is "
            f"{key.algorithm_name}."
        )
    try:
        # The signature alone first: whatever is refused here (the signature, a header PyJWT
        # does not support) says nothing about who sent the assertion.
        jwt.api_jws.PyJWS().decode_complete(assertion, key, algorithms=[key.algorithm_name])
    except jwt.InvalidSignatureError as exc:
        raise AssertionRejected(
            f"The assertion's signature does not verify with {client.issuer}'s key {key.key_id}."
        ) from exc
    except jwt.InvalidTokenError as exc:
        raise AssertionRejected(f"The assertion is not valid: {exc}.") from exc
    try:
        claims = jwt.decode(
            assertion,
            key,
            algorithms=[key.algorithm_name],
            audience=accepted_audiences(client.audience),
            issuer=accepted_issuers(client.issuer),
            subject=client.subject,
            leeway=settings.WORKLOAD_IDENTITY_CLOCK_SKEW_SECONDS,
            options={"require": REQUIRED_CLAIMS, "strict_aud": False},
        )
    except jwt.InvalidTokenError as exc:
        # The signature verified above, so the claims are the issuer's: a refusal of an
        # assertion for the configured workload identity is the organization's own problem.
        raise AssertionRejected(
            _claims_refusal(client, assertion, exc), authentic=_for_workload(client, assertion)
        ) from exc
    one_time_id = claims.get("jti") or claims.get("uti")
    if not one_time_id:
        raise AssertionRejected(
            "The assertion has neither a 'jti' nor a 'uti' claim, so it could be replayed.",
            authentic=True,
        )
    _use_once(client, str(one_time_id), claims["exp"])
    return claims


def _use_once(client: OAuthClient, jti: str, exp: object) -> None:
    now = timezone.now()
    try:
        expires_at = datetime.fromtimestamp(float(exp), tz=UTC)
    except (TypeError, ValueError, OverflowError) as exc:
        raise AssertionRejected("The assertion's exp claim is not a time.", authentic=True) from exc
    if len(jti) > UsedAssertion._meta.get_field("jti").max_length:
        raise AssertionRejected("The assertion's jti claim is too long.", authentic=True)
    # Kept past exp by the clock skew, during which the assertion would still verify.
    horizon = now - timedelta(seconds=settings.WORKLOAD_IDENTITY_CLOCK_SKEW_SECONDS)
    UsedAssertion.objects.filter(client=client, expires_at__lt=horizon).delete()
    try:
        with transaction.atomic():
            UsedAssertion.objects.create(client=client, jti=jti, expires_at=expires_at)
    except IntegrityError as exc:
        raise AssertionRejected(
            f"This assertion (one-time id {jti}) was already exchanged for a token; each assertion "
            "works once.",
            authentic=True,
        ) from exc
