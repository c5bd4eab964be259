"""Staff's view of provisioning health inside the Django admin: the index lists every
organization at risk, and each organization's page opens with a banner."""

from __future__ import annotations

from typing import Any

from django import template

from organizations.models import Organization
from portal.health import organization_health, organizations_health

register = template.Library()

AT_RISK_SHOWN = 50


@register.inclusion_tag("admin/includes/organizations_at_risk.html")
def organizations_at_risk() -> dict[str, Any]:
    """Organizations with provisioning enabled whose health is not OK, worst first."""
    organizations = list(Organization.objects.filter(provisioning_enabled=True).order_by("name"))
    results = organizations_health(organizations)
    at_risk = [(org, results[org.pk]) for org in organizations if results[org.pk].at_risk]
    at_risk.sort(key=lambda pair: (pair[1].level != "critical", pair[0].name))
    return {
        "at_risk": at_risk[:AT_RISK_SHOWN],
        "more": max(len(at_risk) - AT_RISK_SHOWN, 0),
        "checked": len(organizations),
    }


@register.inclusion_tag("admin/includes/organization_health_banner.html")
def organization_health_banner(organization: Organization) -> dict[str, Any]:
    return {"organization": organization, "health": organization_health(organization)}
