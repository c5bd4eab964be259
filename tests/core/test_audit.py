"""``core.audit``: every audited action is registered, and nothing else can be recorded."""

from __future__ import annotations

import pytest

from core import audit
from organizations.models import AuditRecord
from organizations.services import record_audit

pytestmark = pytest.mark.django_db


def test_an_unregistered_action_is_not_recorded(organization):
    with pytest.raises(audit.UnknownAction):
        record_audit(organization, "made_up_action", actor=None)

    assert not AuditRecord.objects.filter(action="made_up_action").exists()


@pytest.mark.parametrize(
    "action", ["sso_configured", "sso_password_sign_in", "sso_enabled", "sso_disabled"]
)
def test_single_sign_on_actions_are_registered_with_a_label(organization, action):
    record = record_audit(organization, action, actor=None)

    assert record.get_action_display() != action


def test_a_value_registered_twice_with_another_label_is_refused():
    with pytest.raises(ValueError, match="already registered"):
        audit.register("token_issued", "Something else")
