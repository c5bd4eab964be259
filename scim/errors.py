"""SCIM error responses (RFC 7644 §3.12), as django-scim2 exceptions its views already render.

Each class carries the HTTP status and, where the RFC defines one, the ``scimType``. The
``status`` member is a JSON string, as §3.12 requires ("expressed as a JSON string").
"""

from __future__ import annotations

import re

from django_scim import exceptions

# Errors about one attribute name it in their detail as ``attribute "<name>"`` (the full
# ``urn:…:name`` for extension attributes), so the portal's explanation can say which Azure
# mapping to change without a second description of the error.
_ATTRIBUTE_IN_DETAIL = re.compile(r'\battribute "(?P<name>[^"]{1,300})"')


def attribute_detail(name: str) -> str:
    """How an error detail names the attribute it is about."""
    return f'attribute "{name}"'


def attribute_in_detail(detail: str) -> str | None:
    """The attribute an error detail names (see ``attribute_detail``), if any."""
    match = _ATTRIBUTE_IN_DETAIL.search(detail or "")
    return match["name"] if match else None


class ScimError(exceptions.SCIMException):
    """Base class: a SCIM error with an RFC 7644 §3.12 body."""

    status = 400
    scim_type: str | None = None

    def __init__(self, detail: str = "", **kwargs: object) -> None:
        super().__init__(detail, **kwargs)

    def to_dict(self) -> dict:
        body = super().to_dict()
        body["status"] = str(self.status)
        return body


class InvalidSyntax(ScimError):
    """§3.12 invalidSyntax: the body is not a well-formed SCIM request."""

    scim_type = "invalidSyntax"


class InvalidValue(ScimError):
    """§3.12 invalidValue: a required value is missing or a value has the wrong type."""

    scim_type = "invalidValue"


class InvalidFilter(ScimError):
    """§3.12 invalidFilter: the filter syntax or an attribute in it is not supported."""

    scim_type = "invalidFilter"


class InvalidPath(ScimError):
    """§3.12 invalidPath: a PATCH path is malformed or names nothing we can change."""

    scim_type = "invalidPath"


class NoTarget(ScimError):
    """§3.12 noTarget: a PATCH ``remove`` without a path."""

    scim_type = "noTarget"


class Mutability(ScimError):
    """§3.12 mutability: an attempt to change a read-only attribute such as ``id``."""

    scim_type = "mutability"


class Uniqueness(ScimError):
    """§3.12 uniqueness (409): ``userName`` or group ``displayName`` already taken."""

    status = 409
    scim_type = "uniqueness"


class Unauthorized(ScimError):
    """401: no valid bearer token for this tenant URL (RFC 7644 §2, RFC 6750 §3)."""

    status = 401


class NotFound(ScimError):
    """404: no such resource in this organization."""

    status = 404


class MethodNotAllowed(ScimError):
    status = 405


class PayloadTooLarge(ScimError):
    """413: the body is larger than ``DATA_UPLOAD_MAX_MEMORY_SIZE``; §3.12 defines no scimType."""

    status = 413


class NotImplementedYet(ScimError):
    """501: a SCIM feature this service does not offer (RFC 7644 §3.2, e.g. /Bulk)."""

    status = 501


class UnexpectedError(ScimError):
    """500: a failure of ours; its detail never says more, the log does."""

    status = 500
