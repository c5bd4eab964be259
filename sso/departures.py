"""A person SCIM deactivates or deletes keeps no portal session of any kind.

``ended_by_scim`` receives ``scim.signals.call_completed`` (connected in ``SsoConfig.ready``):
for a deactivation or deletion that succeeded, the matching password accounts of the
organization are cut off (``services.end_sessions_of_person``). The person's SSO sessions end
at their next request anyway (``services.sso_session_is_valid``).
"""

from __future__ import annotations

from typing import Any

from scim.calls import Operation, ScimCall
from scim.models import ScimUser

from . import services

DISPATCH_UID = "sso.departures.ended_by_scim"
ENDING = (Operation.DEACTIVATE_USER, Operation.DELETE_USER)


def ended_by_scim(sender: type[ScimCall], call: ScimCall, **kwargs: Any) -> None:
    organization = call.organization
    if organization is None or not call.succeeded or call.operation not in ENDING:
        return
    names = {call.display_name}
    if call.operation == Operation.DEACTIVATE_USER and call.resource_id:
        user = ScimUser.objects.filter(organization=organization, scim_id=call.resource_id).first()
        if user is not None:
            names |= {user.user_name, user.work_email or ""}
    services.end_sessions_of_person(organization, names)
