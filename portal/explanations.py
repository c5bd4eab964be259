"""Plain words for sync events: what a request did, and how to fix one that failed.

Tenant admins read these instead of calling Kno2 support, so they name Azure AD's own screens
and explain what Azure will do next (``docs/azure-scim-client.md`` §3.3, §3.7, §3.8).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from scim.calls import Operation
from scim.errors import attribute_in_detail

# A SCIM filter comparing one attribute with a GUID, as Azure's Test Connection sends it:
# `userName eq "7d420df3-9995-4831-a406-ecf8166f5f6a"` (docs/azure-scim-client.md §2.1).
_GUID_FILTER = re.compile(
    r'^\s*[\w.:\[\]" ]+?\s+eq\s+"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-'
    r'[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"\s*$'
)


# ``scim.services`` names the first unknown member ids: "no user with id <id>[, <id>...]".
_UNKNOWN_MEMBER = re.compile(r"no user with id ([^\s,]+(?:, [^\s,]+)*(?: and \d+ more)?)")


def is_test_connection(
    operation: str, filter_text: str, results: int | None, status_code: int
) -> bool:
    """Whether a request looks like Azure's Test Connection.

    Azure queries "for a user that doesn't exist, using a random GUID as the matching property"
    and expects an empty ListResponse (docs/azure-scim-client.md §2.1). So: a user or group search
    whose filter is one ``eq`` against a GUID, that matched nothing, or that failed (a Test
    Connection with a bad token or a broken endpoint is exactly what the health check must catch).
    A real user whose userName is a GUID would be found (``results`` > 0) and stays a plain search.
    """
    if operation not in {Operation.LIST_USERS, Operation.LIST_GROUPS}:
        return False
    if not _GUID_FILTER.match(filter_text or ""):
        return False
    return status_code >= 400 or not results


def _quote(value: object) -> str:
    if value is None or value == "":
        return "(empty)"
    text = str(value)
    return f"“{text[:80]}…”" if len(text) > 80 else f"“{text}”"


def describe_changes(changes: Sequence[Mapping[str, object]]) -> str:
    parts = []
    for change in changes[:6]:
        parts.append(
            f"{change.get('attribute', '?')} {_quote(change.get('old'))} → "
            f"{_quote(change.get('new'))}"
        )
    if len(changes) > 6:
        parts.append(f"and {len(changes) - 6} more")
    return "; ".join(parts)


def summarize(
    operation: str,
    *,
    subject: str = "",
    changes: Sequence[Mapping[str, object]] = (),
    members_added: int = 0,
    members_removed: int = 0,
    filter_text: str = "",
    results: int | None = None,
    method: str = "",
    path: str = "",
) -> str:
    """One line saying what the request did, e.g. ``Add 3 members to group “Nurses”``."""
    who = f" {_quote(subject)}" if subject else ""
    if operation == Operation.UPDATE_MEMBERS:
        added = f"{members_added} member{'s' if members_added != 1 else ''}"
        removed = f"{members_removed} member{'s' if members_removed != 1 else ''}"
        if members_added and members_removed:
            return f"Add {added} to and remove {removed} from group{who}"
        if members_added:
            return f"Add {added} to group{who}"
        if members_removed:
            return f"Remove {removed} from group{who}"
        return f"Change members of group{who}"
    if operation == Operation.TEST_CONNECTION:
        return f"Test Connection: lookup where {filter_text}"
    if operation in {Operation.LIST_USERS, Operation.LIST_GROUPS}:
        kind = "users" if operation == Operation.LIST_USERS else "groups"
        where = f" where {filter_text}" if filter_text else ""
        found = f" ({results} found)" if results is not None else ""
        return f"Search {kind}{where}{found}"
    if operation == Operation.TOKEN_REQUEST:
        return "Access token request refused"
    if operation == Operation.OTHER:
        return f"{method} {path}"
    label = Operation(operation).label if operation in Operation.values else operation
    text = f"{label}{who}"
    if changes:
        text += f": {describe_changes(changes)}"
    return text


def _undeclared_attribute(attribute: str) -> str:
    target = attribute
    return (
        f"Azure sent the attribute {target}, which Kno2fy does not know. In the enterprise app, "
        "open Provisioning → Mappings → Provision Microsoft Entra ID Users (or Groups) and "
        f"remove the mapping whose target attribute is {target}. If Kno2fy needs that value, "
        "ask Kno2 which extension attribute (urn:ietf:params:scim:schemas:extension:kno2:2.0:"
        "User:…) to map it to instead. Azure retries the object on its next cycle."
    )


def explain_failure(
    *,
    operation: str,
    status_code: int,
    error_type: str = "",
    error_detail: str = "",
    subject: str = "",
) -> str:
    """What a failed request means and what the tenant admin can do about it."""
    who = f"“{subject}”" if subject else "this object"
    if operation == Operation.TOKEN_REQUEST:
        # ``oauth.server`` wrote the fix, naming the values to change.
        return (
            f"{error_detail} Then click Test Connection in the enterprise app's Provisioning "
            "page; Azure quarantines a job whose credentials keep failing."
        )
    if status_code == 401:
        return (
            "Azure AD's secret token was refused: it is wrong, expired, revoked, or provisioning "
            "is switched off for this organization. Ask Kno2 for a new token, paste it in the "
            "enterprise app under Provisioning → Admin Credentials → Secret Token, then click "
            "Test Connection. Azure quarantines a job whose credentials keep failing."
        )
    if status_code == 409 or error_type == "uniqueness":
        if operation in {Operation.RENAME_GROUP, Operation.UPDATE_GROUP}:
            return (
                f"Another group here already has the name Azure sent for {who}. Group names "
                "must be unique: rename one of the two groups in Azure, and the next cycle "
                "applies the change."
            )
        if operation == Operation.UPDATE_USER:
            return (
                f"Another user here already has the userName Azure sent for {who}. Fix the "
                "duplicate userName (usually the UPN) in Azure; the next cycle applies it."
            )
        if operation not in {Operation.CREATE_USER, Operation.CREATE_GROUP}:
            hint = f" ({error_detail})" if error_detail else ""
            return (
                f"The change conflicted with data already here{hint}. Azure retries it on its "
                "next cycle; if it keeps failing, contact Kno2 support with the request id."
            )
        if operation == Operation.CREATE_GROUP:
            return (
                f"A group named {who} already exists here, so Azure could not create it. Azure "
                "retries every cycle and keeps failing until its matching attribute "
                "(displayName) finds that group: rename one of them, or delete the stale group "
                "here, and the next cycle matches it."
            )
        return (
            f"A user with the userName {who} already exists here, so Azure could not create it. "
            "Azure retries every cycle until its matching attribute (userName) finds that user: "
            "make the Azure user's userName (usually the UPN) match the existing account, or "
            "remove the duplicate here, and the next cycle links them."
        )
    if status_code == 404:
        if operation in {Operation.LIST_USERS, Operation.LIST_GROUPS, Operation.TEST_CONNECTION}:
            return (
                "The Tenant URL does not point at a provisioning endpoint. Copy the Tenant URL "
                "from this dashboard into Azure exactly; Azure quarantines a job that gets 404 "
                "instead of an empty result."
            )
        return (
            f"{who[0].upper()}{who[1:]} no longer exists here (it was deleted). Azure treats "
            "this as resolved on its next cycle; if it keeps happening, restart provisioning "
            "in Azure so it forgets the old id."
        )
    if status_code == 400:
        hint = f" ({error_detail})" if error_detail else ""
        unknown = _UNKNOWN_MEMBER.search(error_detail or "")
        if unknown and operation in {
            Operation.UPDATE_GROUP,
            Operation.UPDATE_MEMBERS,
            Operation.CREATE_GROUP,
        }:
            ids = unknown.group(1)
            several = "," in ids or " more" in ids
            return (
                f"Azure asked to add {'members' if several else 'member'} {ids} to {who}, and "
                f"no user with {'those ids' if several else 'that id'} was ever provisioned "
                "here, so the whole request was refused and no member in "
                "it was added. Azure will retry the whole request, with every member in it, on "
                "its next cycle. Usually that user is not assigned to the Kno2fy enterprise app "
                "or is out of the provisioning scope while the group is: assign the user (or "
                "remove them from the group) in Azure, or use Provision on demand for that user."
            )
        attribute = attribute_in_detail(error_detail)
        if attribute and error_type in {"invalidSyntax", "invalidPath", "noTarget"}:
            return _undeclared_attribute(attribute)
        if attribute and error_type == "invalidValue" and "at most" in error_detail:
            return (
                f"Azure's mapping to the extension attribute {attribute} sends more than Kno2 "
                f"accepts{hint}. In the enterprise app, open Provisioning → Mappings → "
                f"Provision Microsoft Entra ID Users, and remove the mapping whose target "
                f"attribute is {attribute}, or shorten its source value. If Kno2fy needs it "
                "as it is, ask Kno2 support."
            )
        if error_type == "invalidFilter":
            return (
                f"Azure searched with a filter this service does not support{hint}. Check the "
                "matching attributes in Azure's attribute mappings: use userName for users and "
                "displayName for groups."
            )
        return (
            f"Azure sent a value this service refused{hint}. Check the attribute mappings in "
            "Azure for the attribute named; Azure retries the object on its next cycle once "
            "the mapping or the source value is fixed."
        )
    if status_code == 429:
        return "Requests were throttled. Nothing to do: Azure retries them automatically."
    if status_code >= 500:
        return (
            "The provisioning service failed on Kno2's side; nothing is wrong with your "
            "configuration. Azure retries on its next cycle (about 40 minutes). If it keeps "
            "failing, contact Kno2 support with the request id shown here."
        )
    return "Azure's request was refused. Contact Kno2 support with the request id shown here."
