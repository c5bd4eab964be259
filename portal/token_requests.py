"""The sync history's record of the OAuth token endpoint (``oauth.signals``).

A refused token request of the organization's own Entra job (``outcome.authentic``) goes into
its history with the fix in plain words; anyone else's is only counted, like a refused SCIM
credential, so nobody can write into an organization's history. Granted requests are not
recorded: the SCIM calls the token is spent on are.
"""

from __future__ import annotations

from typing import Any

from core.credentials import AuthenticatedCredential
from oauth.signals import TokenRequestOutcome
from scim.calls import Operation, ScimCall

from . import services as history


def record_refused_token_request(
    sender: Any, *, outcome: TokenRequestOutcome, **kwargs: Any
) -> None:
    client = outcome.client
    if not outcome.authentic or client is None:
        history.count_failed_authentication(outcome.organization.public_id, at=outcome.started_at)
        return
    call = ScimCall(
        request_id=outcome.request_id,
        method="POST",
        path=outcome.path,
        tenant=outcome.organization.public_id,
        operation=Operation.TOKEN_REQUEST,
        started_at=outcome.started_at,
        credential=AuthenticatedCredential(
            organization=outcome.organization,
            kind=client.kind,
            public_id=client.client_id,
            expires_at=None,
            client_label=client.label,
        ),
        status_code=outcome.status_code,
        scim_type=outcome.error,
        error_detail=outcome.failure,
        duration_ms=outcome.duration_ms,
    )
    history.record_sync_event(call)


def connect() -> None:
    """Subscribe the history to the token endpoint (``PortalConfig.ready``)."""
    from oauth.signals import token_request_refused

    token_request_refused.connect(
        record_refused_token_request, dispatch_uid="portal.record_refused_token_request"
    )
