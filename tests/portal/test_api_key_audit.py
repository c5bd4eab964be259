"""History API keys are audited when issued and revoked, and the audit log holds no secret."""

from __future__ import annotations

import json

import pytest

from organizations.models import AuditRecord
from portal import services

pytestmark = pytest.mark.django_db


def test_issuing_and_revoking_a_history_api_key_are_audited(organization, staff_user):
    api_key, plaintext = services.issue_history_api_key(
        organization, actor=staff_user, label="Splunk"
    )
    services.revoke_history_api_key(api_key, actor=staff_user)

    records = list(organization.audit_records.order_by("id").values_list("action", "actor"))
    assert records[-2:] == [
        ("history_api_key_issued", staff_user.pk),
        ("history_api_key_revoked", staff_user.pk),
    ]
    assert plaintext not in json.dumps(list(AuditRecord.objects.values("detail")))


def test_revoking_a_revoked_history_api_key_is_not_audited_twice(organization, staff_user):
    api_key, _ = services.issue_history_api_key(organization, actor=staff_user)
    services.revoke_history_api_key(api_key, actor=staff_user)

    services.revoke_history_api_key(api_key, actor=staff_user)

    assert organization.audit_records.filter(action="history_api_key_revoked").count() == 1
