"""Staff's setup checklist on an organization's admin page, in the order a customer goes:
issuer → provisioning enabled → credential issued → first call received → SSO configured →
admins invited, each with who did it and when.

It lives in ``sso``, the highest app that needs reading, so it may read the audit log
(organizations), the sync history and invitations (portal) and the SSO configuration (sso)
without any lower app importing a higher one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django import template

from oauth import audit as oauth_audit
from organizations import audit as organization_audit
from organizations.models import AuditRecord, Organization
from portal.models import Invitation, PortalRole, SyncEvent
from sso.models import SsoConfiguration

register = template.Library()


@dataclass(frozen=True)
class Step:
    title: str
    done: bool
    who: str = ""
    when: datetime | None = None
    detail: str = ""


def _audited(organization: Organization, *actions: str) -> AuditRecord | None:
    return (
        AuditRecord.objects.filter(organization=organization, action__in=actions)
        .order_by("-created_at", "-id")
        .first()
    )


def _first_audited(organization: Organization, *actions: str) -> AuditRecord | None:
    return (
        AuditRecord.objects.filter(organization=organization, action__in=actions)
        .order_by("created_at", "id")
        .first()
    )


def setup_steps(organization: Organization) -> list[Step]:
    """The six setup steps of ``organization``, done or not, in order."""
    issuer = _audited(organization, organization_audit.ISSUER_SET)
    enabled = _audited(organization, organization_audit.PROVISIONING_ENABLED)
    credential = _first_audited(
        organization,
        organization_audit.TOKEN_ISSUED,
        oauth_audit.OAUTH_CLIENT_ISSUED,
        oauth_audit.WORKLOAD_IDENTITY_CONFIGURED,
    )
    first_call = (
        SyncEvent.objects.for_organization(organization).order_by("created_at", "id").first()
    )
    sso = (
        SsoConfiguration.objects.filter(organization=organization)
        .select_related("configured_by")
        .first()
    )
    invited = list(
        Invitation.objects.filter(organization=organization, role=PortalRole.ADMIN)
        .select_related("created_by")
        .order_by("created_at")
    )
    accepted = sum(1 for invitation in invited if invitation.accepted_at is not None)
    return [
        Step(
            "SSO issuer set",
            organization.sso_tenant_id is not None,
            issuer.actor_name if issuer else "",
            issuer.created_at if issuer else None,
            organization.sso_issuer,
        ),
        Step(
            "Provisioning enabled",
            organization.provisioning_enabled,
            enabled.actor_name if enabled else "",
            organization.provisioning_enabled_at,
        ),
        Step(
            "Credential issued",
            credential is not None,
            credential.actor_name if credential else "",
            credential.created_at if credential else None,
            credential.get_action_display() if credential else "",
        ),
        Step(
            "First call received",
            first_call is not None,
            first_call.credential_id if first_call else "",
            first_call.created_at if first_call else None,
            (
                f"{first_call.method} {first_call.path} → {first_call.status_code}"
                if first_call
                else ""
            ),
        ),
        Step(
            "SSO configured",
            sso is not None,
            (sso.configured_by.get_username() if sso and sso.configured_by else ""),
            sso.configured_at if sso else None,
        ),
        Step(
            "Admins invited",
            bool(invited),
            invited[0].created_by.get_username() if invited and invited[0].created_by else "",
            invited[0].created_at if invited else None,
            f"{len(invited)} invited, {accepted} accepted" if invited else "",
        ),
    ]


@register.inclusion_tag("admin/includes/setup_checklist.html")
def setup_checklist(organization: Organization) -> dict[str, Any]:
    return {"organization": organization, "steps": setup_steps(organization)}
