"""The one registry of audited actions.

Every action staff (or the system) can take that the audit log records is one ``register``
line in the app that owns it, e.g. ``TOKEN_ISSUED = audit.register("token_issued", "Token
issued")``. ``organizations.AuditRecord.action`` takes its choices from here and
``organizations.services.record_audit`` refuses an action nobody registered, so an unregistered
action cannot be written. The values are stored in audit rows: never change one.
"""

from __future__ import annotations

from dataclasses import dataclass


class AuditAction(str):
    """An action's stored value (a ``str``), carrying its human label."""

    label: str

    def __new__(cls, value: str, label: str) -> AuditAction:
        action = super().__new__(cls, value)
        action.label = label
        return action


_ACTIONS: dict[str, AuditAction] = {}


@dataclass(frozen=True)
class UnknownAction(ValueError):
    value: str

    def __str__(self) -> str:
        return f"{self.value!r} is not a registered audit action (core.audit.register)"


def register(value: str, label: str) -> AuditAction:
    """Register one audited action; returns it, to keep as the owning app's constant.

    Registering the same value twice with the same label is harmless (a module imported
    twice); a second label for a value is a mistake and raises.
    """
    existing = _ACTIONS.get(value)
    if existing is not None:
        if existing.label != label:
            raise ValueError(f"audit action {value!r} is already registered as {existing.label!r}")
        return existing
    if len(value) > 40:
        raise ValueError(f"audit action {value!r} is longer than AuditRecord.action allows")
    action = AuditAction(value, label)
    _ACTIONS[value] = action
    return action


def get(value: str) -> AuditAction:
    """The registered action ``value``; raises ``UnknownAction`` for any other."""
    try:
        return _ACTIONS[value]
    except KeyError:
        raise UnknownAction(value) from None


def choices() -> list[tuple[str, str]]:
    """Every registered action as ``(value, label)``, for the model field's choices."""
    return [(action, action.label) for action in _ACTIONS.values()]
