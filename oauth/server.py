"""The token endpoint's OAuth 2.0 machinery, built on Authlib's authorization server.

Authlib does the protocol (RFC 6749 §4.4 client credentials grant, ``client_secret_basic`` and
``client_secret_post`` parsing, §5.1 responses and §5.2 error bodies with
``Cache-Control: no-store`` and, for a 401, ``WWW-Authenticate``). This module supplies what
Authlib leaves to the application: finding the client among one organization's clients,
checking a secret (``oauth.check_client_secret``), a third client authentication method for
workload identity federation (RFC 7523 §2.2, checked by ``federation.verify_assertion``), and
issuing our opaque access tokens. Each refusal's reason in plain words is kept on the
``TokenAttempt``, for the organization's history.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field
from urllib.parse import unquote

from authlib.common.encoding import json_dumps
from authlib.integrations.django_oauth2.requests import DjangoOAuth2Payload, DjangoOAuth2Request
from authlib.oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import ClientMixin, OAuth2Request, grants
from authlib.oauth2.rfc6749.errors import (
    InvalidClientError,
    InvalidRequestError,
    InvalidScopeError,
    OAuth2Error,
)
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.functional import cached_property
from django.views.decorators.debug import sensitive_variables

from organizations.models import Organization

from . import services as oauth
from .credentials import OAUTH_CLIENT, WORKLOAD_IDENTITY
from .federation import CLIENT_ASSERTION_TYPE, AssertionRejected, verify_assertion
from .models import OAuthClient, OAuthClientSecret

WORKLOAD_IDENTITY_METHOD = "client_assertion_jwt_bearer"
SECRET_METHODS = ("client_secret_basic", "client_secret_post")
# RFC 6749 §3.3: scope = scope-token *( SP scope-token ), scope-token = 1*NQCHAR.
_SCOPE = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+(?: [\x21\x23-\x5b\x5d-\x7e]+)*")


def _request_problem(request: HttpRequest) -> str:
    """Why a token request is malformed (RFC 6749 §3.2, §4.4.2), or ``""``."""
    if request.GET:
        return "Send the token request's parameters in the form body, not the URL."
    if not request.body:
        return "The grant_type parameter is missing; Entra sends client_credentials."
    content_type = request.content_type or ""
    if content_type != "application/x-www-form-urlencoded":
        return "The token request must be application/x-www-form-urlencoded (RFC 6749 §4.4.2)."
    repeated = sorted(name for name, values in request.POST.lists() if len(values) > 1)
    if repeated:
        return f"Parameters must not repeat (RFC 6749 §3.2): {', '.join(repeated)}."
    if not request.POST.get("grant_type"):
        return "The grant_type parameter is missing; Entra sends client_credentials."
    return ""


class MalformedBasicCredentials(ValueError):
    """An ``Authorization: Basic`` header whose credentials are not base64 of UTF-8 text."""


def basic_credentials(request: HttpRequest) -> tuple[str | None, str | None]:
    """The client id and secret of an ``Authorization: Basic`` header (RFC 7617), else
    ``(None, None)``; ``MalformedBasicCredentials`` when the header cannot be read.

    Authlib's own parser lets bytes that are not UTF-8 escape as ``UnicodeDecodeError``; a
    client must hear 401, like any other credential that does not authenticate.
    """
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "basic" or not token.strip():
        return None, None
    try:
        text = base64.b64decode(token.strip()).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise MalformedBasicCredentials from exc
    client_id, colon, secret = text.partition(":")
    return unquote(client_id), unquote(secret) if colon else None


def wire_text(text: str) -> str:
    """``text`` as an ``error_description`` may carry it: RFC 6749 §5.2 allows printable ASCII
    without ``"`` and ``\\``."""
    text = text.replace("…", "...").replace("§", "section ").replace('"', "'")
    return "".join(ch for ch in text if 0x20 <= ord(ch) <= 0x7E and ch != "\\")[:400]


@dataclass
class TokenAttempt:
    """What one token request turned out to be, for the history and the rate limits."""

    organization: Organization
    client: OAuthClient | None = None
    secret: OAuthClientSecret | None = None
    failure: str = ""
    # The caller proved it holds this organization's credential (the right secret, or an
    # assertion its Entra tenant signed for its workload identity), so the refusal belongs in
    # the organization's history; anyone else's failure is only counted.
    authentic: bool = False
    # Whether ``failure`` may be told to the caller: when authentic, or when it says nothing
    # about any credential (a malformed request, an assertion's claims). A wrong secret or an
    # unknown client id learns only that authentication failed.
    describe: bool = False
    claims: dict = field(default_factory=dict)
    error: str = ""

    def fail(self, reason: str, *, authentic: bool = False, describe: bool | None = None) -> None:
        if not self.failure:
            self.failure, self.authentic = reason, authentic
            self.describe = authentic if describe is None else describe


class TokenRequest(DjangoOAuth2Request):
    """Authlib's Django request, addressed by ``PUBLIC_BASE_URL`` like every URL we publish.

    Authlib refuses a plain-http URI (RFC 6749 §3.2 requires TLS); behind the load balancer
    that terminates TLS, the request's own scheme is http, the public one https.
    """

    def __init__(self, request: HttpRequest) -> None:
        OAuth2Request.__init__(
            self,
            method=request.method,
            uri=settings.PUBLIC_BASE_URL + request.path,
            headers=request.headers,
        )
        self.payload = DjangoOAuth2PayloadPostOnly(request)
        self._request = request


class DjangoOAuth2PayloadPostOnly(DjangoOAuth2Payload):
    """Parameters from the form body only: a secret in the URL would end in access logs."""

    @cached_property
    def data(self) -> dict:
        return self._request.POST.dict()

    @cached_property
    def datalist(self) -> dict:
        return {name: self._request.POST.getlist(name) for name in self._request.POST}


class TokenClient(ClientMixin):
    """Authlib's view of one ``OAuthClient`` during one token request."""

    def __init__(self, row: OAuthClient, attempt: TokenAttempt) -> None:
        self.row = row
        self.attempt = attempt

    def get_client_id(self) -> str:
        return self.row.client_id

    def get_allowed_scope(self, scope: str) -> str:
        return scope

    @sensitive_variables("client_secret")
    def check_client_secret(self, client_secret: str) -> bool:
        if self.row.kind != OAUTH_CLIENT.kind:
            self.attempt.fail(
                f"{self.row} uses workload identity federation, not a secret.", describe=True
            )
            return False
        result = oauth.check_client_secret(self.row, client_secret)
        if result.secret is None:
            self.attempt.fail(result.failure, authentic=result.genuine)
            return False
        self.attempt.secret = result.secret
        return True

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        if self.row.kind == OAUTH_CLIENT.kind:
            return method in SECRET_METHODS
        return method == WORKLOAD_IDENTITY_METHOD

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "client_credentials"


class ClientCredentialsGrant(grants.ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = [*SECRET_METHODS, WORKLOAD_IDENTITY_METHOD]

    def validate_token_request(self) -> None:
        super().validate_token_request()
        attempt: TokenAttempt = self.server.attempt
        if not attempt.organization.provisioning_enabled:
            attempt.fail(
                "Provisioning is disabled for this organization, so no access token "
                "is issued; Kno2 staff switch it on.",
                authentic=True,
            )
            raise InvalidClientError(status_code=401, description=wire_text(attempt.failure))


class TokenServer(AuthorizationServer):
    """An authorization server for one organization's token endpoint, made per request."""

    def __init__(self, attempt: TokenAttempt) -> None:
        super().__init__()
        self.attempt = attempt
        self.register_grant(ClientCredentialsGrant)
        self.register_client_auth_method(WORKLOAD_IDENTITY_METHOD, self._authenticate_assertion)
        self.register_token_generator("default", self._generate_token)

    # Authlib hooks ------------------------------------------------------------------------

    def query_client(self, client_id: str) -> TokenClient | None:
        row = (
            OAuthClient.objects.filter(client_id=client_id, organization=self.attempt.organization)
            .select_related("organization")
            .first()
        )
        if row is None:
            self.attempt.fail(
                f"Client id {client_id[:60]!r} is not one of this organization's "
                "clients; check the Client ID in Entra."
            )
            return None
        self.attempt.client = row
        # A revoked client is refused once its secret or assertion is checked, so that only
        # its holder learns it was revoked.
        return TokenClient(row, self.attempt)

    def validate_requested_scope(self, scope: str | None) -> None:
        """Any well-formed scope is accepted as Entra sends it (the token grants SCIM access to
        this organization, whatever the name); a malformed one is ``invalid_scope``."""
        if scope is not None and not _SCOPE.fullmatch(scope):
            self.attempt.fail(
                "The scope parameter is malformed (RFC 6749 §3.3); clear or fix "
                "the OAuth 2.0 scopes in Entra.",
                authentic=True,
            )
            raise InvalidScopeError()

    def _generate_token(
        self,
        *,
        grant_type: str,
        client: TokenClient,
        user: object = None,
        scope: str | None = None,
        expires_in: int | None = None,
        include_refresh_token: bool = False,
    ) -> dict:
        _, plaintext, lifetime = oauth.issue_access_token(
            client.row, client_secret=self.attempt.secret
        )
        token = {"access_token": str(plaintext), "token_type": "Bearer", "expires_in": lifetime}
        if scope:
            token["scope"] = scope
        return token

    def save_token(self, token: dict, request: object) -> None:
        """Stored already by ``oauth.issue_access_token``, in the same step that built it."""

    def create_oauth2_request(self, request: HttpRequest) -> DjangoOAuth2Request:
        return TokenRequest(request)

    def handle_response(self, status: int, body: object, headers: list) -> HttpResponse:
        response = HttpResponse(json_dumps(body) if isinstance(body, dict) else body, status=status)
        for name, value in headers:
            response[name] = value
        return response

    def send_signal(self, name: str, *args: object, **kwargs: object) -> None:
        """Authlib's signals are not used."""

    def create_token_response(self, request: HttpRequest | None = None) -> HttpResponse:
        try:
            basic_credentials(request)
        except MalformedBasicCredentials:
            # Told apart in the history, answered like an unknown client or a wrong secret.
            self.attempt.fail(
                "The Authorization header's Basic credentials are not base64 of UTF-8 text; "
                "check the Client ID and Client secret in Entra."
            )
            return self.handle_error_response(request, InvalidClientError(status_code=401))
        problem = _request_problem(request)
        if problem:
            self.attempt.fail(problem, describe=True)
            return self.handle_error_response(
                request, InvalidRequestError(description=wire_text(problem))
            )
        return super().create_token_response(request)

    def handle_error_response(self, request: object, error: OAuth2Error) -> HttpResponse:
        """Authlib's §5.2 error, described with the attempt's reason when the caller may know
        it; a wrong secret or unknown client only hears that authentication failed."""
        if isinstance(error, InvalidClientError):
            if not self.attempt.failure:
                self.attempt.fail(
                    "The token request carries no client credentials: set the "
                    "Client ID and Client secret (or the federation) in Entra.",
                    describe=True,
                )
            error.description = (
                wire_text(self.attempt.failure)
                if self.attempt.describe
                else "Client authentication failed."
            )
        elif not self.attempt.failure:
            self.attempt.fail(error.get_error_description() or error.error, describe=True)
        self.attempt.error = error.error
        return super().handle_error_response(request, error)

    # Workload identity federation ---------------------------------------------------------

    def _authenticate_assertion(
        self, query_client: object, request: DjangoOAuth2Request
    ) -> TokenClient | None:
        form = request.form
        assertion_type = form.get("client_assertion_type")
        assertion = form.get("client_assertion")
        if not assertion_type and not assertion:
            return None
        if assertion_type != CLIENT_ASSERTION_TYPE or not assertion:
            self.attempt.fail(
                f"client_assertion_type must be {CLIENT_ASSERTION_TYPE} with a client_assertion.",
                describe=True,
            )
            return None
        client_id = form.get("client_id")
        if client_id:
            client = self.query_client(client_id)
        else:
            row = (
                OAuthClient.objects.active()
                .filter(organization=self.attempt.organization, kind=WORKLOAD_IDENTITY.kind)
                .first()
            )
            if row is None:
                self.attempt.fail(
                    "This organization has no workload identity federation configured.",
                    describe=True,
                )
                return None
            self.attempt.client = row
            client = TokenClient(row, self.attempt)
        if client is None:
            return None
        if client.row.kind != WORKLOAD_IDENTITY.kind:
            self.attempt.fail(
                f"{client.row} authenticates with a client secret, not an assertion.",
                describe=True,
            )
            return None
        try:
            self.attempt.claims = verify_assertion(client.row, assertion)
        except AssertionRejected as exc:
            self.attempt.fail(str(exc), authentic=exc.authentic, describe=True)
            return None
        if client.row.revoked_at is not None:
            self.attempt.fail(
                f"Client {client.row} was revoked on {oauth._date(client.row.revoked_at)}; ask "
                "Kno2 to configure the federation again.",
                authentic=True,
            )
            return None
        return client
