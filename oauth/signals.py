"""What the token endpoint reports, for whoever keeps history (``portal.token_requests``).

Like authlib's Django integration (``client_authenticated``, ``token_authenticated``), the
endpoint sends signals instead of calling the history itself, so ``oauth`` imports neither the
portal nor SCIM. Each signal carries one ``TokenRequestOutcome`` as ``outcome``; it never holds
a secret: no presented client secret, assertion, ``Authorization`` value or issued token.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from django.dispatch import Signal

if TYPE_CHECKING:
    from organizations.models import Organization

    from .models import OAuthClient


@dataclass(frozen=True)
class TokenRequestOutcome:
    """One token request, as history records it."""

    organization: Organization
    request_id: str
    path: str
    started_at: datetime
    duration_ms: float
    status_code: int
    # The client the request named and proved, if any; ``None`` when none was found.
    client: OAuthClient | None
    # The caller proved it holds the organization's credential: a refusal belongs in the
    # organization's history. Anyone else's refusal is only counted.
    authentic: bool
    error: str = ""  # the OAuth error code of a refusal ("invalid_client"...)
    failure: str = ""  # the fix in plain words, for the history


# sender: the ``oauth.views.token_endpoint`` function; keyword ``outcome``.
token_request_refused = Signal()
token_granted = Signal()
