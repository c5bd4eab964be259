"""Webhook endpoints and platform API keys are audited, and the audit log holds no secret."""

from __future__ import annotations

import json

import pytest

from directory import services
from organizations.models import AuditRecord

pytestmark = pytest.mark.django_db


def _actions(organization) -> list[str]:
    return list(organization.audit_records.order_by("id").values_list("action", flat=True))


def test_adding_an_endpoint_and_rotating_its_secret_are_audited(organization, staff_user):
    endpoint, first = services.add_endpoint(
        organization, url="https://a.example/h", actor=staff_user
    )
    second = services.rotate_secret(endpoint, actor=staff_user)

    assert _actions(organization)[-2:] == ["webhook_endpoint_added", "webhook_secret_rotated"]
    logged = json.dumps(list(AuditRecord.objects.values("detail")))
    assert first not in logged and second not in logged
    assert AuditRecord.objects.filter(actor=staff_user, action="webhook_secret_rotated").exists()


def test_disabling_and_enabling_an_endpoint_are_audited(organization, staff_user):
    endpoint, _ = services.add_endpoint(organization, url="https://a.example/h", actor=None)

    services.disable_endpoint(endpoint, actor=staff_user)
    services.enable_endpoint(endpoint, actor=staff_user)

    assert _actions(organization)[-2:] == ["webhook_endpoint_disabled", "webhook_endpoint_enabled"]


def test_issuing_and_revoking_a_platform_api_key_are_audited(organization, staff_user):
    api_key, plaintext = services.issue_platform_api_key(
        organization, actor=staff_user, label="Kno2fy"
    )
    services.revoke_platform_api_key(api_key, actor=staff_user)

    assert _actions(organization)[-2:] == ["platform_api_key_issued", "platform_api_key_revoked"]
    assert plaintext not in json.dumps(list(AuditRecord.objects.values("detail")))
    assert organization.audit_records.filter(detail__key=api_key.display_prefix).count() == 2


def test_a_platform_wide_endpoint_is_audited_under_no_organization(staff_user):
    services.add_endpoint(None, url="https://all.example/h", actor=staff_user)

    record = AuditRecord.objects.get(action="webhook_endpoint_added")
    assert (record.organization, record.actor) == (None, staff_user)
